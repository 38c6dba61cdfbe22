package deviceauth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strings"
)

// UserCodeAlphabet is RFC 8628 section 6.1's: twenty consonants, no vowel (no words), no digit
// (no 0/O or 1/I to confuse). Eight of them are 20^8, about 2^34.6 codes.
const UserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// UserCodeLength is how many characters a user code has; it is shown as two groups of four.
const UserCodeLength = 8

// deviceSecretBytes is the random part of a device code: 256 bits, never guessed.
const deviceSecretBytes = 32

// newUserCode draws a user code; rejection sampling keeps every character equally likely.
func newUserCode() string {
	const limit = 256 - 256%len(UserCodeAlphabet)
	out := make([]byte, 0, UserCodeLength)
	buf := make([]byte, 16)
	for len(out) < UserCodeLength {
		_, _ = rand.Read(buf) // crypto/rand does not fail on supported platforms
		for _, b := range buf {
			if int(b) < limit && len(out) < UserCodeLength {
				out = append(out, UserCodeAlphabet[int(b)%len(UserCodeAlphabet)])
			}
		}
	}
	return string(out)
}

// NormalizeUserCode reads a user code as a person types it: any case, with or without the
// dash, with spaces. ok is false when what is left is not a code of the alphabet.
func NormalizeUserCode(typed string) (code string, ok bool) {
	var b strings.Builder
	for i := 0; i < len(typed); i++ {
		// Byte by byte: a letter outside ASCII that upper-cases into the alphabet (the long s,
		// the dotless i) is not a code, however it looks.
		c := typed[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		switch {
		case c == '-' || c == ' ' || c == '\t':
			continue
		case strings.IndexByte(UserCodeAlphabet, c) < 0 || b.Len() == UserCodeLength:
			return "", false
		}
		b.WriteByte(c)
	}
	if b.Len() != UserCodeLength {
		return "", false
	}
	return b.String(), true
}

// FormatUserCode shows a normalized user code as XXXX-XXXX.
func FormatUserCode(code string) string {
	if len(code) != UserCodeLength {
		return code
	}
	return code[:4] + "-" + code[4:]
}

// newDeviceCode is a device code for userCode: the user code (so the grant is found with one
// read, and knowing it says nothing of the rest) and a 256-bit secret, of which only the
// SHA-256 is stored.
func newDeviceCode(userCode string) (deviceCode string, secretHash []byte) {
	secret := make([]byte, deviceSecretBytes)
	_, _ = rand.Read(secret)
	s := base64.RawURLEncoding.EncodeToString(secret)
	return userCode + s, hashSecret(s)
}

// parseDeviceCode splits a device code into its user code and secret; ok is false for
// anything newDeviceCode could not have made.
func parseDeviceCode(deviceCode string) (userCode, secret string, ok bool) {
	want := UserCodeLength + base64.RawURLEncoding.EncodedLen(deviceSecretBytes)
	if len(deviceCode) != want {
		return "", "", false
	}
	userCode, secret = deviceCode[:UserCodeLength], deviceCode[UserCodeLength:]
	if n, ok := NormalizeUserCode(userCode); !ok || n != userCode {
		return "", "", false
	}
	if _, err := base64.RawURLEncoding.Strict().DecodeString(secret); err != nil {
		return "", "", false
	}
	return userCode, secret, true
}

func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// secretMatches compares in constant time.
func secretMatches(secret string, hash []byte) bool {
	return subtle.ConstantTimeCompare(hashSecret(secret), hash) == 1
}
