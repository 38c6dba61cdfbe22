package session

import (
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
