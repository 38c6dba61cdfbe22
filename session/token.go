package session

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/caddy-mfa/caddy-mfa/policy"
)

// Errors from Verify. They say why a credential failed, for logs and tests; clients are only
// ever told that it did.
var (
	ErrMalformed = errors.New("malformed token")
	ErrSignature = errors.New("token signature does not verify")
	ErrExpired   = errors.New("token expired")
)

// Token layout, before base64url:
//
//	version(1) keyID(4) issued(8) signedIn(8) expires(8) mfaTime(8) method(1) flags(1) sessionID(16)
//	signInID(16) userLen(2) user serialLen(2) serial groupsLen(2) groups (joined by newlines)
//	[aaguidLen(2) aaguid(16)]  mac(32)
//
// The AAGUID of a webauthn factor's authenticator, when it has one, follows the groups; tokens
// made before it existed end at the groups and read as they always did.
//
// Times are Unix milliseconds. A fixed binary form keeps verification free of parsers.
// Version 1 had no sign-in id; its tokens are refused (see docs/decisions.md).
const (
	tokenVersion = 2
	fixedLen     = 1 + 4 + 8*4 + 1 + 1 + 16 + 16
	macLen       = 32
	maxUser      = 64   // IAM's user name limit
	maxSerial    = 256  // IAM's serial number limit
	maxGroups    = 1024 // all group names together
	aaguidLen    = 16
	maxTokenLen  = fixedLen + 2 + maxUser + 2 + maxSerial + 2 + maxGroups + 2 + aaguidLen + macLen
)

const (
	flagEnrolling      = 1
	flagBrowser        = 2
	flagExternal       = 4
	flagUserVerified   = 8
	flagBackupEligible = 16
	knownFlags         = flagEnrolling | flagBrowser | flagExternal | flagUserVerified | flagBackupEligible
)

// methods is the token's method byte: its index here. The order is the wire format, so a new
// method goes at the end; "" is no factor passed.
var methods = []string{"", policy.MethodVirtual, policy.MethodHardware, policy.MethodWebAuthn, policy.MethodSMS, policy.MethodRecovery, policy.MethodRemembered}

// ErrUnknownMethod means the claims name a method no token can carry.
var ErrUnknownMethod = errors.New("unknown factor method for a token")

func methodByte(m string) (byte, error) {
	for i, name := range methods {
		if name == m {
			return byte(i), nil
		}
	}
	return 0, fmt.Errorf("claims method %q: %w", m, ErrUnknownMethod)
}

var b64 = base64.RawURLEncoding

// decodeBuffers hold decoded tokens while they are checked; nothing of them outlives Verify.
var decodeBuffers = sync.Pool{New: func() any { return new([maxTokenLen]byte) }}

// ErrTooLong means a user name or serial is longer than IAM allows, so no token can carry it.
var ErrTooLong = errors.New("user name or serial too long for a token")

// Sign encodes claims as a token signed with the ring's first key.
func (r *KeyRing) Sign(c *Claims) (string, error) {
	user, serial, groups := c.User, c.Serial, strings.Join(c.Groups, "\n")
	if len(user) > maxUser || len(serial) > maxSerial || len(groups) > maxGroups {
		return "", ErrTooLong
	}
	method, err := methodByte(c.Method)
	if err != nil {
		return "", err
	}
	buf := make([]byte, 0, fixedLen+6+len(user)+len(serial)+len(groups)+macLen)
	k := r.signer()
	buf = append(buf, tokenVersion)
	buf = append(buf, k.id[:]...)
	buf = binary.BigEndian.AppendUint64(buf, uint64(millis(c.Issued)))
	buf = binary.BigEndian.AppendUint64(buf, uint64(millis(c.SignedIn)))
	buf = binary.BigEndian.AppendUint64(buf, uint64(millis(c.Expires)))
	buf = binary.BigEndian.AppendUint64(buf, uint64(millis(c.MFATime)))
	buf = append(buf, method)
	var flags byte
	if c.Enrolling {
		flags |= flagEnrolling
	}
	if c.Browser {
		flags |= flagBrowser
	}
	if c.External {
		flags |= flagExternal
	}
	if c.UserVerified {
		flags |= flagUserVerified
	}
	if c.BackupEligible {
		flags |= flagBackupEligible
	}
	buf = append(buf, flags)
	buf = append(buf, c.SessionID[:]...)
	buf = append(buf, c.SignInID[:]...)
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(user)))
	buf = append(buf, user...)
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(serial)))
	buf = append(buf, serial...)
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(groups)))
	buf = append(buf, groups...)
	if c.AAGUID != "" {
		id, err := parseUUID(c.AAGUID)
		if err != nil {
			return "", err
		}
		buf = binary.BigEndian.AppendUint16(buf, aaguidLen)
		buf = append(buf, id[:]...)
	}
	buf = append(buf, k.mac(buf)...)
	return b64.EncodeToString(buf), nil
}

// Verify checks a token's signature and expiry and returns its claims. It touches no storage;
// revocation is the caller's next check.
func (r *KeyRing) Verify(token string, now time.Time) (Claims, error) {
	if len(token) > b64.EncodedLen(maxTokenLen) || len(token) < b64.EncodedLen(fixedLen+6+macLen) {
		return Claims{}, ErrMalformed
	}
	arr := decodeBuffers.Get().(*[maxTokenLen]byte)
	defer decodeBuffers.Put(arr)
	body, err := r.signedBody(arr, token)
	if err != nil {
		return Claims{}, err
	}
	c, ok := decodeClaims(body[5:])
	if !ok {
		return Claims{}, ErrMalformed
	}
	if !now.Before(c.Expires) {
		return Claims{}, ErrExpired
	}
	return c, nil
}

// signedBody decodes the token into arr and returns the part its MAC covers, once the MAC
// verifies: nothing of an unsigned token is read beyond its version and key id.
func (r *KeyRing) signedBody(arr *[maxTokenLen]byte, token string) ([]byte, error) {
	// The token is only read: decoding from its bytes in place spares a copy per request.
	n, err := b64.Decode(arr[:], unsafe.Slice(unsafe.StringData(token), len(token)))
	if err != nil {
		return nil, ErrMalformed
	}
	buf := arr[:n]
	if buf[0] != tokenVersion {
		return nil, ErrMalformed
	}
	k := r.byID(buf[1:5])
	if k == nil {
		return nil, ErrSignature
	}
	body, mac := buf[:n-macLen], buf[n-macLen:]
	if !k.verifyMAC(body, mac) {
		return nil, ErrSignature
	}
	return body, nil
}

// decodeClaims reads the claims from a verified body after its version and key id; false means
// the signer wrote something this version cannot read.
func decodeClaims(p []byte) (Claims, bool) {
	var c Claims
	c.Issued = fromMillis(p[0:8])
	c.SignedIn = fromMillis(p[8:16])
	c.Expires = fromMillis(p[16:24])
	c.MFATime = fromMillis(p[24:32])
	if int(p[32]) >= len(methods) {
		return Claims{}, false
	}
	c.Method = methods[p[32]]
	if p[33]&^knownFlags != 0 {
		return Claims{}, false
	}
	c.Enrolling, c.Browser, c.External = p[33]&flagEnrolling != 0, p[33]&flagBrowser != 0, p[33]&flagExternal != 0
	c.UserVerified, c.BackupEligible = p[33]&flagUserVerified != 0, p[33]&flagBackupEligible != 0
	copy(c.SessionID[:], p[34:50])
	copy(c.SignInID[:], p[50:66])
	if !decodeNames(p[66:], &c) {
		return Claims{}, false
	}
	return c, true
}

// decodeNames reads the three length-prefixed fields (user, serial, groups) that end the body.
func decodeNames(rest []byte, c *Claims) bool {
	user, after, ok := lengthPrefixed(rest)
	if !ok {
		return false
	}
	serial, after, ok := lengthPrefixed(after)
	if !ok {
		return false
	}
	groups, after, ok := lengthPrefixed(after)
	if !ok {
		return false
	}
	if len(after) != 0 { // the authenticator's AAGUID, and nothing after it
		aaguid, end, ok := lengthPrefixed(after)
		if !ok || len(aaguid) != aaguidLen || len(end) != 0 {
			return false
		}
		c.AAGUID = formatUUID(aaguid)
		rest = rest[:len(rest)-len(after)]
	}
	// One string for the three fields, sliced: one allocation instead of three.
	all := string(rest)
	c.User = all[2 : 2+len(user)]
	c.Serial = all[2+len(user)+2 : 2+len(user)+2+len(serial)]
	if len(groups) > 0 {
		c.Groups = strings.Split(all[len(all)-len(groups):], "\n")
	}
	return true
}

func lengthPrefixed(b []byte) (field, rest []byte, ok bool) {
	if len(b) < 2 {
		return nil, nil, false
	}
	n := int(binary.BigEndian.Uint16(b))
	if len(b) < 2+n {
		return nil, nil, false
	}
	return b[2 : 2+n], b[2+n:], true
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMillis(b []byte) time.Time {
	ms := int64(binary.BigEndian.Uint64(b))
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// formatUUID writes 16 bytes as a UUID: 01020304-0506-0708-090a-0b0c0d0e0f10.
func formatUUID(b []byte) string {
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// parseUUID reads a UUID as formatUUID writes it (any case).
func parseUUID(s string) ([aaguidLen]byte, error) {
	var id [aaguidLen]byte
	clean := strings.ReplaceAll(s, "-", "")
	if len(s) != 36 || len(clean) != 32 {
		return id, fmt.Errorf("aaguid %q: not a UUID", s)
	}
	if _, err := hex.Decode(id[:], []byte(clean)); err != nil {
		return id, fmt.Errorf("aaguid %q: not a UUID", s)
	}
	return id, nil
}
