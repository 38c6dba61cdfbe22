package session

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// cookieOf signs claims into a session cookie with ring.
func cookieOf(t *testing.T, ring *KeyRing, c *clock, claims Claims) *http.Cookie {
	t.Helper()
	w := httptest.NewRecorder()
	if err := cookiesOf(ring, c).Write(w, httptest.NewRequest("GET", "/", nil), claims); err != nil {
		t.Fatal(err)
	}
	return w.Result().Cookies()[0]
}

func cookiesOf(ring *KeyRing, c *clock) *Cookies {
	return NewCookies(ring, CookieOptions{Name: "s", Idle: time.Hour, Absolute: 12 * time.Hour}, c.now)
}

// reads reports whether a browser sending cookie is signed in under ring.
func reads(ring *KeyRing, c *clock, cookie *http.Cookie) bool {
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(cookie)
	_, ok := cookiesOf(ring, c).Read(r)
	return ok
}

func ring(t *testing.T, keys ...byte) *KeyRing {
	t.Helper()
	secrets := make([][]byte, len(keys))
	for i, k := range keys {
		secrets[i] = key(k)
	}
	r, err := NewKeyRing(secrets...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// signing_keys NEW OLD: cookies of the old key keep their browsers signed in, new cookies are
// signed with the new key, and once the old key is dropped its cookies are worth nothing.
func TestCookieKeyRotation(t *testing.T) {
	c := newClock()
	old := cookieOf(t, ring(t, 1), c, cookiesOf(ring(t, 1), c).Start("alice"))
	for _, keys := range [][]byte{{2, 1}, {1, 2}, {3, 2, 1}, {2, 3, 1}} {
		if !reads(ring(t, keys...), c, old) {
			t.Errorf("keys %v: a cookie signed with key 1 no longer reads", keys)
		}
	}
	fresh := cookieOf(t, ring(t, 2, 1), c, cookiesOf(ring(t, 2, 1), c).Start("alice"))
	if !reads(ring(t, 2), c, fresh) || !reads(ring(t, 2, 1), c, fresh) || !reads(ring(t, 1, 2), c, fresh) {
		t.Fatal("a cookie written after the rotation does not read under the new key")
	}
	if reads(ring(t, 1), c, fresh) {
		t.Fatal("the old key, not the first, signed the cookie written after the rotation")
	}
	for _, keys := range [][]byte{{2}, {3, 2}, {3}} {
		if reads(ring(t, keys...), c, old) {
			t.Errorf("keys %v: a cookie signed by a removed key still reads", keys)
		}
	}
	if reads(ring(t, 3), c, fresh) {
		t.Fatal("a cookie reads under a ring that never held its key")
	}
}
