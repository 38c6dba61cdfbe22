package session

import (
	"bytes"
	"testing"
	"time"
)

// TestTokensCarryTheAuthenticator: a webauthn factor's user verification, backup eligibility
// and AAGUID survive a token, a token without them reads as before, and a token whose AAGUID
// field is cut or padded does not verify.
func TestTokensCarryTheAuthenticator(t *testing.T) {
	ring, err := NewKeyRing(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	base := Claims{User: "alice", Groups: []string{"dev"}, Issued: now, SignedIn: now, Expires: now.Add(time.Hour),
		MFATime: now, Method: "webauthn", Serial: "caddy-mfa-key:alice:k", SessionID: NewSessionID(), SignInID: NewSessionID()}
	for _, tc := range []struct {
		uv, be bool
		aaguid string
	}{{true, false, "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"}, {false, true, ""}, {true, true, "00000000-0000-0000-0000-000000000000"}, {false, false, ""}} {
		c := base
		c.UserVerified, c.BackupEligible, c.AAGUID = tc.uv, tc.be, tc.aaguid
		tok, err := ring.Sign(&c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ring.Verify(tok, now)
		if err != nil || got.UserVerified != tc.uv || got.BackupEligible != tc.be || got.AAGUID != tc.aaguid || got.User != "alice" || len(got.Groups) != 1 {
			t.Errorf("%+v: got %+v, %v", tc, got, err)
		}
	}
	bad := base
	bad.AAGUID = "not-a-uuid"
	if _, err := ring.Sign(&bad); err == nil {
		t.Error("a token was signed with an AAGUID that is no UUID")
	}
}
