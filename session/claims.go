package session

import (
	"encoding/hex"
	"fmt"
	"time"
)

// Claims is what a token or a session cookie says about its holder.
type Claims struct {
	User      string
	Groups    []string  // as they were at sign-in: a change takes effect at the next sign-in, as in IAM
	SessionID SessionID // random; names the session for sign-out and binds its CSRF token
	Issued    time.Time // when the credential was made: revocations compare with it
	SignedIn  time.Time // when the password (or access key) was checked: the absolute lifetime runs from it
	Expires   time.Time
	MFATime   time.Time // when a factor was passed; zero when none was
	Method    string    // the factor's kind: virtual, hardware, webauthn, sms, recovery
	Serial    string    // the device that passed it
	// Enrolling marks a session that may only enrol a device: the user has none and the
	// operator requires one (AWS's DenyAllExceptListedIfNoMFA).
	Enrolling bool
}

// MFAPresent reports whether a factor was passed.
func (c *Claims) MFAPresent() bool { return !c.MFATime.IsZero() }

// SessionID names one sign-in.
type SessionID [16]byte

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
