package session

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestRememberCookieOnHTTPS: __Host- and Secure on HTTPS, HttpOnly and SameSite=Strict always,
// and read back only under the name of the request's scheme.
func TestRememberCookieOnHTTPS(t *testing.T) {
	ring, _ := NewKeyRing(key(1))
	c := NewCookies(ring, CookieOptions{Name: "caddy_mfa", Idle: time.Hour, Absolute: time.Hour}, newClock().now)
	r := httptest.NewRequest("POST", "https://example.com/.mfa/verify", nil)
	w := httptest.NewRecorder()
	c.WriteRemember(w, r, "id.secret", 24*time.Hour)
	set := w.Header().Get("Set-Cookie")
	for _, want := range []string{"__Host-caddy_mfa_remember=id.secret", "Path=/", "Max-Age=86400", "HttpOnly", "Secure", "SameSite=Strict"} {
		if !strings.Contains(set, want) {
			t.Errorf("Set-Cookie %q lacks %s", set, want)
		}
	}
	if strings.Contains(set, "Domain") {
		t.Errorf("Set-Cookie %q names a domain", set)
	}
	r.Header.Set("Cookie", "caddy_mfa_remember=plain; __Host-caddy_mfa_remember=id.secret")
	if got := c.ReadRemember(r); got != "id.secret" {
		t.Fatalf("read on HTTPS: %q", got)
	}
	plain := httptest.NewRequest("POST", "http://example.com/.mfa/verify", nil)
	plain.Header.Set("Cookie", "__Host-caddy_mfa_remember=id.secret")
	if got := c.ReadRemember(plain); got != "" {
		t.Fatalf("an HTTPS cookie read on HTTP: %q", got)
	}
}

// TestSecureDecidesEveryCookie: where CookieOptions.Secure says HTTPS (TLS ended at a trusted
// proxy), a plain-HTTP request gets the HTTPS cookies, both session and remember, and reads
// them back; where it says plain HTTP, a TLS request gets the plain ones.
func TestSecureDecidesEveryCookie(t *testing.T) {
	ring, _ := NewKeyRing(key(1))
	for _, tc := range []struct {
		url    string
		secure bool
		prefix string
	}{{"http://example.com/", true, "__Host-"}, {"https://example.com/", false, ""}} {
		opts := CookieOptions{Name: "caddy_mfa", Idle: time.Hour, Absolute: time.Hour, Secure: func(*http.Request) bool { return tc.secure }}
		c := NewCookies(ring, opts, newClock().now)
		r := httptest.NewRequest("POST", tc.url, nil)
		w := httptest.NewRecorder()
		if err := c.Write(w, r, c.Start("alice")); err != nil {
			t.Fatal(err)
		}
		c.WriteRemember(w, r, "id.secret", time.Hour)
		res := w.Result()
		if len(res.Cookies()) != 2 {
			t.Fatalf("%s: %d cookies", tc.url, len(res.Cookies()))
		}
		for _, ck := range res.Cookies() {
			if !strings.HasPrefix(ck.Name, tc.prefix+"caddy_mfa") || ck.Secure != tc.secure {
				t.Errorf("%s with Secure=%v: cookie %s, Secure=%v", tc.url, tc.secure, ck.Name, ck.Secure)
			}
			r.AddCookie(ck)
		}
		if claims, ok := c.Read(r); !ok || claims.User != "alice" || c.ReadRemember(r) != "id.secret" {
			t.Errorf("%s: the cookies do not read back under the same scheme", tc.url)
		}
	}
}
