package session

import (
	"encoding/hex"
	"fmt"
	"time"

	"github.com/caddy-mfa/caddy-mfa/policy"
)

// Claims is what a token or a session cookie says about its holder.
type Claims struct {
	User      string
	Groups    []string  // as they were at sign-in: a change takes effect at the next sign-in, as in IAM
	SessionID SessionID // random, new with each passed factor; binds the session's CSRF token
	Issued    time.Time // when the credential was made: revocations compare with it
	SignedIn  time.Time // when the password (or access key) was checked: the absolute lifetime runs from it
	Expires   time.Time
	MFATime   time.Time // when a factor was passed; zero when none was
	Method    string    // the factor's kind: virtual, hardware, webauthn, sms, recovery; or remembered
	Serial    string    // the device that passed it
	// The authenticator of a webauthn factor: it verified the user (PIN, biometric), its
	// credential may be synced (a passkey), and its model as a UUID ("" when it did not say).
	UserVerified, BackupEligible bool
	AAGUID                       string
	// Enrolling marks a session that may only enrol a device: the user has none and the
	// operator requires one (AWS's DenyAllExceptListedIfNoMFA).
	Enrolling bool
	// Browser marks the claims of a session cookie. Cookies are signed, not encrypted, so the
	// token inside one can be read out of it: Bearer verification refuses such claims, and a
	// captured cookie is no API credential.
	Browser bool
	// External marks a cookie of a sign-in an earlier handler made (identity mode): such a
	// cookie is no local sign-in, and a local one is no earlier handler's, so a cookie carried
	// from one kind of site to the other signs nobody in.
	External bool

	// Scope: what a token was minted for, beyond who holds it. Audience is the site (its
	// host, or the handler's audience) whose gates accept it; "" on cookies, which the browser
	// keeps to their host, and on tokens made before audiences existed. Role and
	// RoleSessionName name the role of an AssumeRole token. SessionPolicy is the session
	// policy (compact JSON) that narrows the token; Verify compiles it (Policy).
	Audience, Role, RoleSessionName, SessionPolicy string
	policy                                         *policy.Set

	// SignInID is random and names the sign-in: every cookie issued for it (after each factor,
	// each refresh) keeps it, so signing out with any of them ends them all. A session token
	// has its own.
	SignInID SessionID
}

// Policy is the compiled session policy of verified claims; nil when the token carries none.
func (c *Claims) Policy() *policy.Set { return c.policy }

// scoped reports claims that need the token's scope fields.
func (c *Claims) scoped() bool {
	return c.Audience != "" || c.Role != "" || c.RoleSessionName != "" || c.SessionPolicy != ""
}

// MFAPresent reports whether a factor was passed.
func (c *Claims) MFAPresent() bool { return !c.MFATime.IsZero() }

// SessionID is a random 128-bit id: of a session (Claims.SessionID) or of a sign-in
// (Claims.SignInID).
type SessionID [16]byte

// IsZero reports whether the id was never set.
func (id SessionID) IsZero() bool { return id == SessionID{} }

// MarshalText writes the id as hex (revocation lists are JSON).
func (id SessionID) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(id[:])), nil }

// UnmarshalText reads a hex id.
func (id *SessionID) UnmarshalText(b []byte) error {
	if hex.DecodedLen(len(b)) != len(id) {
		return fmt.Errorf("session id: want %d hex digits", 2*len(id))
	}
	_, err := hex.Decode(id[:], b)
	return err
}
