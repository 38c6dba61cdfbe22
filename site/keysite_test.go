package site_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/internal/housetest"
)

// TestSecurityKeysSayWhereTheyCannotWork: on a site reached by an IP address, or by a domain name
// over plain HTTP, browsers run no WebAuthn ceremony; the gateway says so (400 with the reason,
// and a notice in place of the button) instead of starting one that fails.
func TestSecurityKeysSayWhereTheyCannotWork(t *testing.T) {
	e := newEnv(t)
	port := e.Server.URL[strings.LastIndex(e.Server.URL, ":"):]
	c := e.Client()
	c.Login("alice", testPassword)
	c.Enrol("phone")
	send := func(method, path, host string) *response {
		req := c.Request(method, path, map[string]string{"name": "key"}, "Accept", "text/html")
		req.Host = host
		for _, ck := range c.HTTP.Jar.Cookies(housetest.MustURL(e.Server.URL)) {
			req.AddCookie(ck) // the jar keeps them for the server's own host
		}
		r, err := c.Send(req)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for host, want := range map[string]string{
		"127.0.0.1" + port:       "domain name, not an IP address",
		"[::1]" + port:           "domain name, not an IP address",
		"192.0.2.7" + port:       "domain name, not an IP address",
		"app.example.com" + port: "need HTTPS",
		"app.example.com":        "need HTTPS",
	} {
		for _, path := range []string{"/.mfa/api/webauthn/register/begin", "/.mfa/api/webauthn/login/begin"} {
			if r := send("POST", path, host); r.StatusCode != http.StatusBadRequest || r.ErrorCode() != auth.CodeInvalidInput || !strings.Contains(string(r.Body), want) {
				t.Errorf("%s at %s: %d %s, want 400 saying %q", path, host, r.StatusCode, r.Body, want)
			}
		}
		page := send("GET", "/.mfa/devices", host)
		if page.StatusCode != http.StatusOK || strings.Contains(string(page.Body), `id="webauthn-register"`) || !strings.Contains(string(page.Body), want) {
			t.Errorf("devices page at %s: %d, a register button or no notice", host, page.StatusCode)
		}
	}
	for _, host := range []string{"localhost" + port, "app.localhost" + port} {
		if r := send("POST", "/.mfa/api/webauthn/register/begin", host); r.StatusCode != http.StatusOK {
			t.Errorf("register/begin at %s: %d %s", host, r.StatusCode, r.Body)
		}
		if page := send("GET", "/.mfa/devices", host); !strings.Contains(string(page.Body), `id="webauthn-register"`) {
			t.Errorf("devices page at %s offers no security key", host)
		}
	}
}
