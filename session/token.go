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
//	then, without flagScoped: [aaguidLen(2) aaguid(16)]
//	or, with flagScoped: aaguidLen(2) aaguid(0 or 16) audienceLen(2) audience roleLen(2) role
//	                     roleSessionLen(2) roleSession policyLen(2) policy
//	mac(32)
//
// The AAGUID of a webauthn factor's authenticator, when it has one, follows the groups; tokens
// made before it existed end at the groups and read as they always did. A token with a scope
// (audience, role, session policy) sets flagScoped, a flag older versions do not know: they
// refuse such a token as malformed rather than read it without its limits.
//
// Times are Unix milliseconds. A fixed binary form keeps verification free of parsers.
// Version 1 had no sign-in id; its tokens are refused (see docs/decisions.md).
const (
	tokenVersion   = 2
	fixedLen       = 1 + 4 + 8*4 + 1 + 1 + 16 + 16
	macLen         = 32
	maxUser        = 64   // IAM's user name limit
	maxSerial      = 256  // IAM's serial number limit
	maxGroups      = 1024 // all group names together
	aaguidLen      = 16
	maxAudience    = 253 // a DNS name
	maxRole        = 64  // IAM's role name limit
	maxRoleSession = 64  // STS's RoleSessionName limit
	maxNames       = 2 + maxUser + 2 + maxSerial + 2 + maxGroups + 2 + aaguidLen
	maxScope       = 2 + maxAudience + 2 + maxRole + 2 + maxRoleSession + 2 + policy.MaxSessionPolicyBytes
	maxTokenLen    = fixedLen + maxNames + maxScope + macLen
)

const (
	flagEnrolling      = 1
	flagBrowser        = 2
	flagExternal       = 4
	flagUserVerified   = 8
	flagBackupEligible = 16
	flagScoped         = 32
	knownFlags         = flagEnrolling | flagBrowser | flagExternal | flagUserVerified | flagBackupEligible | flagScoped
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

// ErrTooLong means a field is longer than its limit (a user name or serial longer than IAM
// allows, an audience, role, role session name or session policy over theirs), so no token can
// carry it.
var ErrTooLong = errors.New("user name, serial or scope too long for a token")

// Sign encodes claims as a token signed with the ring's first key.
func (r *KeyRing) Sign(c *Claims) (string, error) {
	user, serial, groups := c.User, c.Serial, strings.Join(c.Groups, "\n")
	if len(user) > maxUser || len(serial) > maxSerial || len(groups) > maxGroups || !c.scopeFits() {
		return "", ErrTooLong
	}
	method, err := methodByte(c.Method)
	if err != nil {
		return "", err
	}
	var aaguid []byte
	if c.AAGUID != "" {
		id, err := parseUUID(c.AAGUID)
		if err != nil {
			return "", err
		}
		aaguid = id[:]
	}
	buf := make([]byte, 0, fixedLen+maxNames+c.scopeLen()+macLen)
	k := r.signer()
	buf = append(buf, tokenVersion)
	buf = append(buf, k.id[:]...)
	buf = binary.BigEndian.AppendUint64(buf, uint64(millis(c.Issued)))
	buf = binary.BigEndian.AppendUint64(buf, uint64(millis(c.SignedIn)))
	buf = binary.BigEndian.AppendUint64(buf, uint64(millis(c.Expires)))
	buf = binary.BigEndian.AppendUint64(buf, uint64(millis(c.MFATime)))
	buf = append(buf, method, c.flags())
	buf = append(buf, c.SessionID[:]...)
	buf = append(buf, c.SignInID[:]...)
	for _, field := range []string{user, serial, groups} {
		buf = appendField(buf, field)
	}
	switch {
	case c.scoped():
		buf = appendField(buf, string(aaguid))
		for _, field := range []string{c.Audience, c.Role, c.RoleSessionName, c.SessionPolicy} {
			buf = appendField(buf, field)
		}
	case aaguid != nil:
		buf = appendField(buf, string(aaguid))
	}
	buf = append(buf, k.mac(buf)...)
	return b64.EncodeToString(buf), nil
}

func appendField(buf []byte, field string) []byte {
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(field)))
	return append(buf, field...)
}

func (c *Claims) flags() byte {
	var flags byte
	for bit, set := range map[byte]bool{flagEnrolling: c.Enrolling, flagBrowser: c.Browser, flagExternal: c.External,
		flagUserVerified: c.UserVerified, flagBackupEligible: c.BackupEligible, flagScoped: c.scoped()} {
		if set {
			flags |= bit
		}
	}
	return flags
}

func (c *Claims) scopeFits() bool {
	return len(c.Audience) <= maxAudience && len(c.Role) <= maxRole && len(c.RoleSessionName) <= maxRoleSession &&
		len(c.SessionPolicy) <= policy.MaxSessionPolicyBytes
}

func (c *Claims) scopeLen() int {
	return 8 + len(c.Audience) + len(c.Role) + len(c.RoleSessionName) + len(c.SessionPolicy)
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
	if !decodeNames(p[66:], &c, p[33]&flagScoped != 0) {
		return Claims{}, false
	}
	return c, true
}

// The length-prefixed fields that end the body, in order.
const (
	fieldUser = iota
	fieldSerial
	fieldGroups
	fieldAAGUID
	fieldAudience
	fieldRole
	fieldRoleSession
	fieldPolicy
	fieldCount
)

// decodeNames reads the length-prefixed fields that end the body: user, serial and groups, the
// optional AAGUID, and with scoped the scope's four.
func decodeNames(rest []byte, c *Claims, scoped bool) bool {
	var bounds [fieldCount][2]int
	pos, n := 0, fieldAAGUID
	if scoped {
		n = fieldCount
	}
	for i := 0; i < n || i == fieldAAGUID && pos < len(rest); i++ {
		if len(rest)-pos < 2 {
			return false
		}
		end := pos + 2 + int(binary.BigEndian.Uint16(rest[pos:]))
		if end > len(rest) {
			return false
		}
		bounds[i], pos = [2]int{pos + 2, end}, end
	}
	if pos != len(rest) {
		return false
	}
	// An AAGUID has 16 bytes; only the scoped form writes an empty one for none.
	if l := bounds[fieldAAGUID][1] - bounds[fieldAAGUID][0]; l != aaguidLen && (l != 0 || !scoped && bounds[fieldAAGUID][0] != 0) {
		return false
	}
	// One string for every field, sliced: one allocation instead of one a field.
	all := string(rest)
	field := func(i int) string { return all[bounds[i][0]:bounds[i][1]] }
	c.User, c.Serial = field(fieldUser), field(fieldSerial)
	if groups := field(fieldGroups); groups != "" {
		c.Groups = strings.Split(groups, "\n")
	}
	if b := bounds[fieldAAGUID]; b[1] > b[0] {
		c.AAGUID = formatUUID(rest[b[0]:b[1]])
	}
	if !scoped {
		return true
	}
	c.Audience, c.Role, c.RoleSessionName = field(fieldAudience), field(fieldRole), field(fieldRoleSession)
	c.SessionPolicy = field(fieldPolicy)
	return c.compilePolicy()
}

// compilePolicy compiles the session policy of claims just read. A policy this version cannot
// compile (a later version's key or operator) makes the token unreadable here, never unlimited.
func (c *Claims) compilePolicy() bool {
	if c.SessionPolicy == "" {
		return true
	}
	set, err := policy.CompileSessionPolicy(c.SessionPolicy)
	c.policy = set
	return err == nil
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
