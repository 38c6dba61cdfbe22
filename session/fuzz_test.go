package session

import (
	"bytes"
	"net/http/httptest"
	"testing"
	"time"
)

// FuzzVerify feeds the token verifier arbitrary strings: nothing but a token this ring signed
// may verify, and nothing may panic.
func FuzzVerify(f *testing.F) {
	ring, _ := NewKeyRing(bytes.Repeat([]byte{1}, 32))
	now := time.Unix(1_800_000_000, 0)
	c := Claims{User: "alice", Groups: []string{"a", "b"}, Issued: now, SignedIn: now, Expires: now.Add(time.Hour), MFATime: now, Method: "virtual", Serial: "s"}
	good, _ := ring.Sign(&c)
	f.Add(good)
	c.Audience, c.Role, c.RoleSessionName = "api.example.com", "deployer", "ci"
	c.SessionPolicy = `{"Version":"2026-11-01","Statement":[{"Effect":"Allow","Resource":"/a/*"}]}`
	scoped, _ := ring.Sign(&c)
	f.Add(scoped)
	f.Add("")
	f.Add("AAAA")
	f.Add(good[:len(good)/2])
	f.Fuzz(func(t *testing.T, tok string) {
		claims, err := ring.Verify(tok, now)
		if err != nil {
			return
		}
		// It verified: it must be a token this ring signs the same way.
		again, err := ring.Sign(&claims)
		if err != nil || again != tok {
			t.Fatalf("verified a token the ring did not make: %q", tok)
		}
	})
}

// FuzzCookie feeds the cookie reader arbitrary cookie values.
func FuzzCookie(f *testing.F) {
	ring, _ := NewKeyRing(bytes.Repeat([]byte{1}, 32))
	now := time.Unix(1_800_000_000, 0)
	ck := NewCookies(ring, CookieOptions{Name: "s", Idle: time.Hour, Absolute: time.Hour}, func() time.Time { return now })
	w := httptest.NewRecorder()
	_ = ck.Write(w, httptest.NewRequest("GET", "/", nil), ck.Start("alice"))
	f.Add(w.Result().Cookies()[0].Value)
	f.Add("")
	f.Add("MTc5|garbage|")
	f.Fuzz(func(t *testing.T, value string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Cookie", "s="+value)
		if c, ok := ck.Read(r); ok && c.User != "alice" {
			t.Fatalf("a forged cookie read as %q", c.User)
		}
	})
}
