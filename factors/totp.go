package factors

import (
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// TOTP describes how a device turns its seed into codes (RFC 6238).
type TOTP struct {
	Algorithm string `json:"algorithm"` // SHA1, SHA256 or SHA512
	Digits    int    `json:"digits"`    // 6 or 8
	Period    int    `json:"period"`    // seconds: 30 or 60
}

// VirtualTOTP is what every authenticator app understands: SHA1, 6 digits, 30 s.
var VirtualTOTP = TOTP{Algorithm: "SHA1", Digits: 6, Period: 30}

// Validate checks that the parameters are ones the gateway accepts.
func (p TOTP) Validate() error {
	if _, err := p.algorithm(); err != nil {
		return err
	}
	if p.Digits != 6 && p.Digits != 8 {
		return fmt.Errorf("digits: want 6 or 8, got %d", p.Digits)
	}
	if p.Period != 30 && p.Period != 60 {
		return fmt.Errorf("period: want 30 or 60, got %d", p.Period)
	}
	return nil
}

func (p TOTP) algorithm() (otp.Algorithm, error) {
	switch p.Algorithm {
	case "SHA1":
		return otp.AlgorithmSHA1, nil
	case "SHA256":
		return otp.AlgorithmSHA256, nil
	case "SHA512":
		return otp.AlgorithmSHA512, nil
	}
	return 0, fmt.Errorf("algorithm: want SHA1, SHA256 or SHA512, got %q", p.Algorithm)
}

// Step is the RFC 6238 time step that holds t.
func (p TOTP) Step(t time.Time) int64 { return t.Unix() / int64(p.Period) }

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Code is the code for one time step (RFC 4226's HOTP of the step counter).
func (p TOTP) Code(seed []byte, step int64) (string, error) {
	alg, err := p.algorithm()
	if err != nil {
		return "", err
	}
	// pquerna/otp treats zero Digits and Algorithm as defaults; they are always set here.
	return hotp.GenerateCodeCustom(b32.EncodeToString(seed), uint64(step), hotp.ValidateOpts{
		Digits:    otp.Digits(p.Digits),
		Algorithm: alg,
	})
}

// MatchStep returns the step in [from, to] whose code is code. It computes and compares every
// step in the window, whatever matches, so the time taken says nothing about where a code sits.
// pquerna/otp neither says which step matched nor refuses a reused one: callers keep the last
// accepted step themselves.
func (p TOTP) MatchStep(seed []byte, code string, from, to int64) (step int64, ok bool) {
	if len(code) != p.Digits || !allDigits(code) {
		return 0, false
	}
	for s := from; s <= to; s++ {
		want, err := p.Code(seed, s)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && !ok {
			step, ok = s, true
		}
	}
	return step, ok
}

// MatchConsecutive finds the offsets d in [-window, window] for which code1 is the code of step
// now+d and code2 the code of now+d+1 (enable and resync: "two consecutive codes").
func (p TOTP) MatchConsecutive(seed []byte, code1, code2 string, now int64, window int) []int64 {
	if len(code1) != p.Digits || len(code2) != p.Digits || !allDigits(code1) || !allDigits(code2) {
		return nil
	}
	var offsets []int64
	prevMatchesCode1 := false
	for s := now - int64(window); s <= now+int64(window)+1; s++ {
		want, err := p.Code(seed, s)
		if err != nil {
			return nil
		}
		if prevMatchesCode1 && subtle.ConstantTimeCompare([]byte(want), []byte(code2)) == 1 {
			offsets = append(offsets, s-1-now)
		}
		prevMatchesCode1 = s <= now+int64(window) && subtle.ConstantTimeCompare([]byte(want), []byte(code1)) == 1
	}
	return offsets
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Key is the otpauth:// key (Google Authenticator's Key Uri Format) for an app to scan, labelled
// "issuer:account" with an issuer parameter, as AWS's own QR codes are.
func (p TOTP) Key(issuer, account string, seed []byte) (*otp.Key, error) {
	alg, err := p.algorithm()
	if err != nil {
		return nil, err
	}
	return totp.Generate(totp.GenerateOpts{
		Issuer:      issuer,
		AccountName: account,
		Period:      uint(p.Period),
		Secret:      seed,
		Digits:      otp.Digits(p.Digits),
		Algorithm:   alg,
	})
}

// DecodeSecret reads a Base32 secret as authenticator apps show it (upper or lower case, with
// or without padding and spaces).
func DecodeSecret(s string) ([]byte, error) {
	s = strings.ToUpper(strings.ReplaceAll(strings.TrimRight(s, "="), " ", ""))
	seed, err := b32.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: the secret is not Base32", ErrInvalidInput)
	}
	return seed, nil
}
