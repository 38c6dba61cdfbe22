package session

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-mfa/caddy-mfa/store/caddystore"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newClock() *clock { return &clock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)} }

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func sampleClaims(now time.Time) Claims {
	return Claims{User: "alice", Groups: []string{"admins", "dev"}, SessionID: NewSessionID(), SignInID: NewSessionID(), Issued: now, SignedIn: now, Expires: now.Add(time.Hour),
		MFATime: now, Method: "virtual", Serial: "caddy-mfa:alice:phone"}
}

func TestTokenRoundTrip(t *testing.T) {
	c := newClock()
	ring, _ := NewKeyRing(key(1))
	want := sampleClaims(c.t)
	tok, err := ring.Sign(&want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ring.Verify(tok, c.t)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip changed the claims:\n got %+v\nwant %+v", got, want)
	}
	noMFA := Claims{User: "bob", Issued: c.t, SignedIn: c.t, Expires: c.t.Add(time.Minute), Enrolling: true}
	tok, _ = ring.Sign(&noMFA)
	if got, _ := ring.Verify(tok, c.t); got.MFAPresent() || got.Method != "" || !got.Enrolling {
		t.Fatalf("a token without MFA reads as %+v", got)
	}
}

func TestTokenTamperingAndExpiry(t *testing.T) {
	c := newClock()
	ring, _ := NewKeyRing(key(1))
	claims := sampleClaims(c.t)
	tok, _ := ring.Sign(&claims)
	raw, _ := b64.DecodeString(tok)
	for i := range raw {
		forged := bytes.Clone(raw)
		forged[i] ^= 0x01
		if _, err := ring.Verify(b64.EncodeToString(forged), c.t); err == nil {
			t.Fatalf("flipping a bit of byte %d went unnoticed", i)
		}
	}
	for _, bad := range []string{"", "x", tok[:len(tok)-1], tok + "A", strings.Repeat("A", 2000), "!!!!" + tok[4:]} {
		if _, err := ring.Verify(bad, c.t); err == nil {
			t.Fatalf("malformed token %q verified", bad)
		}
	}
	if _, err := ring.Verify(tok, c.t.Add(time.Hour)); !errors.Is(err, ErrExpired) {
		t.Fatalf("at the expiry instant: %v", err)
	}
	other, _ := NewKeyRing(key(2))
	if _, err := other.Verify(tok, c.t); !errors.Is(err, ErrSignature) {
		t.Fatalf("a token of another ring: %v", err)
	}
	long := claims
	long.Serial = strings.Repeat("s", 257)
	if _, err := ring.Sign(&long); !errors.Is(err, ErrTooLong) {
		t.Fatalf("a 257-character serial: %v", err)
	}
}

func TestKeyRotation(t *testing.T) {
	c := newClock()
	old, _ := NewKeyRing(key(1))
	claims := sampleClaims(c.t)
	tok, _ := old.Sign(&claims)
	rotated, _ := NewKeyRing(key(2), key(1))
	if _, err := rotated.Verify(tok, c.t); err != nil {
		t.Fatalf("a token of the previous key no longer verifies: %v", err)
	}
	fresh, _ := rotated.Sign(&claims)
	if _, err := old.Verify(fresh, c.t); err == nil {
		t.Fatal("the new key did not sign")
	}
	dropped, _ := NewKeyRing(key(2))
	if _, err := dropped.Verify(tok, c.t); err == nil {
		t.Fatal("a dropped key still verifies")
	}
	if _, err := NewKeyRing([]byte("short")); err == nil {
		t.Fatal("a short key was accepted")
	}
}

func TestRevocationsAcrossNodes(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	st := caddystore.New(&certmagic.FileStorage{Path: t.TempDir()}, "mfa")
	a := NewRevocations(st, c.now, 48*time.Hour)
	b := NewRevocations(st, c.now, 48*time.Hour)
	before := sampleClaims(c.t)
	c.advance(time.Second)
	if err := a.RevokeUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if !a.Revoked(&before) {
		t.Fatal("the revoking node still accepts the old credential")
	}
	if b.Revoked(&before) {
		t.Fatal("node b knew before reloading (test is wrong)")
	}
	if err := b.Reload(ctx); err != nil || !b.Revoked(&before) {
		t.Fatalf("node b after reload: %v", err)
	}
	c.advance(time.Second)
	after := sampleClaims(c.t)
	if a.Revoked(&after) {
		t.Fatal("a credential issued after the revocation is refused")
	}
	other := before
	other.User = "bob"
	if a.Revoked(&other) {
		t.Fatal("bob was revoked with alice")
	}
	if err := a.RevokeSignIn(ctx, after.SignInID, after.Expires); err != nil || !a.Revoked(&after) {
		t.Fatalf("signed-out session: %v", err)
	}
	// Two days on, both entries are pruned by the next write.
	c.advance(72 * time.Hour)
	if err := a.RevokeUser(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	l := a.current.Load()
	if len(l.Users) != 1 || len(l.SignIns) != 0 {
		t.Fatalf("stale entries were kept: %+v", l)
	}
}

func TestCookies(t *testing.T) {
	c := newClock()
	ring, _ := NewKeyRing(key(1))
	ck := NewCookies(ring, CookieOptions{Name: "caddy_mfa", Idle: 30 * time.Minute, Absolute: 12 * time.Hour}, c.now)

	for _, https := range []bool{false, true} {
		r := httptest.NewRequest("GET", "/", nil)
		if https {
			r.TLS = &tls.ConnectionState{}
		}
		w := httptest.NewRecorder()
		claims := ck.Start("alice")
		if err := ck.Write(w, r, claims); err != nil {
			t.Fatal(err)
		}
		cookie := w.Result().Cookies()[0]
		wantName := map[bool]string{false: "caddy_mfa", true: "__Host-caddy_mfa"}[https]
		if cookie.Name != wantName || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure != https || cookie.Path != "/" || cookie.Domain != "" {
			t.Fatalf("https=%v: cookie %+v", https, cookie)
		}
		r2 := httptest.NewRequest("GET", "/", nil)
		r2.TLS = r.TLS
		r2.AddCookie(cookie)
		got, ok := ck.Read(r2)
		if !ok || got.User != "alice" || got.SessionID != claims.SessionID {
			t.Fatalf("read back %+v, %v", got, ok)
		}
		if _, ok := ck.Read(r2); !ok {
			t.Fatal("second read (cached) failed")
		}
	}
}

func TestCookieIdleAndAbsoluteLifetimes(t *testing.T) {
	c := newClock()
	ring, _ := NewKeyRing(key(1))
	ck := NewCookies(ring, CookieOptions{Name: "s", Idle: 30 * time.Minute, Absolute: time.Hour}, c.now)
	write := func(claims Claims) *http.Request {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/", nil)
		if err := ck.Write(w, r, claims); err != nil {
			t.Fatal(err)
		}
		r = httptest.NewRequest("GET", "/", nil)
		r.AddCookie(w.Result().Cookies()[0])
		return r
	}
	claims := ck.Start("alice")
	r := write(claims)
	c.advance(31 * time.Minute)
	if _, ok := ck.Read(r); ok {
		t.Fatal("a session idle for 31 minutes is still valid")
	}
	c.advance(-31 * time.Minute)
	c.advance(20 * time.Minute)
	got, ok := ck.Read(r)
	if !ok || !ck.NeedsRefresh(&got) {
		t.Fatalf("after 20 minutes of a 30 minute idle time: ok=%v refresh=%v", ok, ck.NeedsRefresh(&got))
	}
	r = write(got)
	c.advance(25 * time.Minute) // 45 minutes after sign-in, 25 after the refresh
	got, ok = ck.Read(r)
	if !ok {
		t.Fatal("a refreshed session ended at the old idle deadline")
	}
	r = write(got)
	c.advance(20 * time.Minute) // 65 minutes after sign-in: past the absolute hour
	if _, ok := ck.Read(r); ok {
		t.Fatal("a session outlived its absolute lifetime")
	}
}

func TestCSRF(t *testing.T) {
	c := newClock()
	ring, _ := NewKeyRing(key(1))
	ck := NewCookies(ring, CookieOptions{Name: "s", Idle: time.Hour, Absolute: time.Hour}, c.now)
	a, b := ck.Start("alice"), ck.Start("alice")
	tok := ck.CSRFToken(&a)
	if !ck.CheckCSRF(&a, tok) {
		t.Fatal("the session's own token is refused")
	}
	for _, bad := range []string{"", "x", ck.CSRFToken(&b), tok + "A"} {
		if ck.CheckCSRF(&a, bad) {
			t.Fatalf("token %q accepted", bad)
		}
	}
	rotated, _ := NewKeyRing(key(2), key(1))
	ck2 := NewCookies(rotated, CookieOptions{Name: "s", Idle: time.Hour, Absolute: time.Hour}, c.now)
	if !ck2.CheckCSRF(&a, tok) {
		t.Fatal("a page loaded before a key rotation can no longer post")
	}
}

// Tokens and cookies made before sign-ins had an id (version 1) are refused, though their MAC
// holds: their sign-out may not have ended their sign-in's earlier cookies, so none survives
// the upgrade.
func TestTokensOfVersionOneAreRefused(t *testing.T) {
	c := newClock()
	ring, _ := NewKeyRing(key(1))
	k := ring.signer()
	var buf []byte
	buf = append(buf, 1)
	buf = append(buf, k.id[:]...)
	for _, at := range []time.Time{c.t, c.t, c.t.Add(time.Hour), c.t} {
		buf = binary.BigEndian.AppendUint64(buf, uint64(at.UnixMilli()))
	}
	virtual, err := methodByte("virtual")
	if err != nil {
		t.Fatal(err)
	}
	buf = append(buf, virtual, 0)
	id := NewSessionID()
	buf = append(buf, id[:]...)
	for _, field := range []string{"alice", "caddy-mfa:alice:phone", "dev"} {
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(field)))
		buf = append(buf, field...)
	}
	buf = append(buf, k.mac(buf)...)
	if claims, err := ring.Verify(b64.EncodeToString(buf), c.t); err == nil {
		t.Fatalf("a version 1 token verified as %+v", claims)
	}
}

// TestCookieCacheVouchesOnlyForWhatItDecoded: with two copies of the cookie in one header, the
// value that was decoded is the one cached, so a junk copy never becomes an alias of a session.
func TestCookieCacheVouchesOnlyForWhatItDecoded(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	ring, _ := NewKeyRing(bytes.Repeat([]byte{7}, 32))
	cookies := NewCookies(ring, CookieOptions{Name: "mfa", Idle: time.Hour, Absolute: 12 * time.Hour}, func() time.Time { return now })
	w := httptest.NewRecorder()
	if err := cookies.Write(w, httptest.NewRequest("GET", "/", nil), cookies.Start("alice")); err != nil {
		t.Fatal(err)
	}
	valid := w.Result().Cookies()[0].Value
	both := httptest.NewRequest("GET", "/", nil)
	both.Header.Set("Cookie", `mfa=zz\zz; mfa=`+valid)
	if c, ok := cookies.Read(both); ok {
		t.Fatalf("a junk first copy was read as %s", c.User)
	}
	junk := httptest.NewRequest("GET", "/", nil)
	junk.Header.Set("Cookie", `mfa=zz\zz`)
	if c, ok := cookies.Read(junk); ok {
		t.Fatalf("the junk copy alone became %s's session", c.User)
	}
}
