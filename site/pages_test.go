package site_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/gate"
)

var (
	csrfField   = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	secretField = regexp.MustCompile(`id="secret">([A-Z2-7]+)<`)
	enableForm  = regexp.MustCompile(`action="(/\.mfa/devices/[^"]+/enable)"`)
)

func match(t *testing.T, re *regexp.Regexp, body []byte) string {
	t.Helper()
	m := re.FindSubmatch(body)
	if m == nil {
		t.Fatalf("page lacks %s:\n%s", re, body)
	}
	return html.UnescapeString(string(m[1]))
}

// TestPagesWithoutJavaScript walks the pages as a browser with scripts off would: forms only.
func TestPagesWithoutJavaScript(t *testing.T) {
	e := newEnv(t)
	c := e.Client()
	signInFromTheLoginPage(t, c)
	secret := enrolThroughTheForms(t, e, c)

	// Next visit: sign in, the verify page, a code.
	c2 := e.Client()
	c2.Do("POST", "/.mfa/login", url.Values{"username": {"alice"}, "password": {testPassword}, "return": {"/app"}})
	r := c2.Do("GET", "/.mfa/verify?return=/app", nil)
	if r.StatusCode != http.StatusOK || !strings.Contains(string(r.Body), `autocomplete="one-time-code"`) {
		t.Fatalf("verify page: %d", r.StatusCode)
	}
	csrf2 := match(t, csrfField, r.Body)
	r = c2.Do("POST", "/.mfa/verify", url.Values{"code": {"123456"}, "csrf_token": {csrf2}, "return": {"/app"}})
	if r.StatusCode != http.StatusForbidden || !strings.Contains(html.UnescapeString(string(r.Body)), "That code didn't work. Use the current code from “phone”.") {
		t.Fatalf("wrong code page: %d", r.StatusCode)
	}
	e.Clock.Advance(30 * time.Second)
	r = c2.Do("POST", "/.mfa/verify", url.Values{"code": {e.Code(secret, 0)}, "csrf_token": {csrf2}, "return": {"/app"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/app" {
		t.Fatalf("verify form: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	r = c2.Do("GET", "/.mfa/devices", nil)
	if !strings.Contains(string(r.Body), "enabled ") || strings.Contains(string(r.Body), secret) {
		t.Fatalf("devices page after enrolment lists no enabled device, or shows the secret")
	}
	// Sign out with the header's form.
	r = c2.Do("POST", "/.mfa/logout", url.Values{"csrf_token": {match(t, csrfField, r.Body)}})
	if r.StatusCode != http.StatusOK || !strings.Contains(string(r.Body), "signed out") {
		t.Fatalf("sign out: %d", r.StatusCode)
	}
	if r := c2.Do("GET", "/app", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after sign-out: %d", r.StatusCode)
	}
}

// signInFromTheLoginPage checks the login page and its security headers, a wrong password, and
// that a user without devices is sent to enrol (never to a foreign return address).
func signInFromTheLoginPage(t *testing.T, c *client) {
	t.Helper()
	r := c.Do("GET", "/.mfa/login?return=/app", nil)
	if r.StatusCode != http.StatusOK || !strings.Contains(string(r.Body), `name="password"`) {
		t.Fatalf("login page: %d", r.StatusCode)
	}
	for h, want := range map[string]string{"Cache-Control": "no-store", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"} {
		if r.Header.Get(h) != want {
			t.Errorf("%s = %q, want %q", h, r.Header.Get(h), want)
		}
	}
	if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP = %q", csp)
	}
	r = c.Do("POST", "/.mfa/login", url.Values{"username": {"alice"}, "password": {"nope"}, "return": {"/app"}})
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(string(r.Body), "That user name and password don&#39;t match") || !strings.Contains(string(r.Body), `value="alice"`) {
		t.Fatalf("wrong password page: %d", r.StatusCode)
	}
	r = c.Do("POST", "/.mfa/login", url.Values{"username": {"alice"}, "password": {testPassword}, "return": {"//evil.example"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/.mfa/devices?return=%2F" {
		t.Fatalf("sign-in of a user without devices: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
}

// enrolThroughTheForms enrols a virtual device with the devices page's forms (refusing a wrong
// CSRF token and a mistyped pair), checks the recovery codes page and returns the secret.
func enrolThroughTheForms(t *testing.T, e *env, c *client) (secret string) {
	t.Helper()
	r := c.Do("GET", "/.mfa/devices?return=/app", nil)
	if r.StatusCode != http.StatusOK || !strings.Contains(string(r.Body), "Set up multi-factor authentication") {
		t.Fatalf("devices page: %d %s", r.StatusCode, r.Body)
	}
	csrf := match(t, csrfField, r.Body)
	if r := c.Do("POST", "/.mfa/devices/virtual", url.Values{"name": {"phone"}, "csrf_token": {"wrong"}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("form without the right CSRF token: %d", r.StatusCode)
	}
	r = c.Do("POST", "/.mfa/devices/virtual", url.Values{"name": {"phone"}, "csrf_token": {csrf}, "return": {"/app"}})
	if r.StatusCode != http.StatusOK || !strings.Contains(string(r.Body), `src="data:image/png;base64,`) {
		t.Fatalf("enrol page: %d", r.StatusCode)
	}
	secret = match(t, secretField, r.Body)
	action := match(t, enableForm, r.Body)
	// A mistyped pair shows the same QR code and secret again, with the error.
	r = c.Do("POST", action, url.Values{"code1": {"000000"}, "code2": {"111111"}, "csrf_token": {csrf}, "return": {"/app"}})
	if r.StatusCode != http.StatusForbidden || match(t, secretField, r.Body) != secret || !strings.Contains(string(r.Body), "Those codes didn&#39;t work") {
		t.Fatalf("mistyped pair: %d", r.StatusCode)
	}
	r = c.Do("POST", action, url.Values{"code1": {e.Code(secret, -1)}, "code2": {e.Code(secret, 0)}, "csrf_token": {csrf}, "return": {"/app"}})
	if r.StatusCode != http.StatusOK || len(recoveryCodesOf(t, r.Body)) != 10 || continueOf(t, r.Body) != "/app" {
		t.Fatalf("enable form: %d, not the first device's recovery codes with a Continue to /app", r.StatusCode)
	}
	if r := c.Do("GET", "/app", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("the app after enrolment: %d", r.StatusCode)
	}
	return secret
}

func TestVerifyPageSendsUsersWithoutDevicesToEnrol(t *testing.T) {
	e := newEnv(t, func(_ *gate.Options, c *auth.Config, _ *auth.Deps) { c.EnrollmentRequired = false })
	c := e.Client()
	c.Do("POST", "/.mfa/login", url.Values{"username": {"bob"}, "password": {testPassword}})
	r := c.Do("GET", "/.mfa/verify?return=/x", nil)
	if r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/.mfa/devices?return=%2Fx" {
		t.Fatalf("verify without devices: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := e.Client().Do("GET", "/.mfa/devices", nil); r.StatusCode != http.StatusFound || !strings.HasPrefix(r.Header.Get("Location"), "/.mfa/login") {
		t.Fatalf("devices page when signed out: %d", r.StatusCode)
	}
	if r := c.Do("GET", "/.mfa/static/style.css", nil); r.StatusCode != http.StatusOK || !strings.Contains(r.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("stylesheet: %d %q", r.StatusCode, r.Header.Get("Content-Type"))
	}
}

// TestDevicePageForms: resync, recovery codes, an access key and removal, through the forms.
func TestDevicePageForms(t *testing.T) {
	e := newEnv(t)
	c := e.Client()
	c.Login("alice", testPassword)
	serial, secret := c.Enrol("phone")
	r := c.Do("GET", "/.mfa/devices", nil)
	csrf := match(t, csrfField, r.Body)
	for _, want := range []string{"Resync", "Remove this device", "Recovery codes", "Access keys", "Add a hardware token"} {
		if !strings.Contains(string(r.Body), want) {
			t.Errorf("the devices page lacks %q", want)
		}
	}
	e.Clock.Advance(time.Minute)
	r = c.Do("POST", "/.mfa/devices/"+serial+"/resync", url.Values{"csrf_token": {csrf}, "code1": {e.Code(secret, 5)}, "code2": {e.Code(secret, 6)}})
	if r.StatusCode != http.StatusOK || !strings.Contains(string(r.Body), "in step again") {
		t.Fatalf("resync form: %d", r.StatusCode)
	}
	r = c.Do("POST", "/.mfa/recovery-codes", url.Values{"csrf_token": {csrf}})
	if r.StatusCode != http.StatusOK || strings.Count(string(r.Body), `<code class="secret">`) != 10 {
		t.Fatalf("recovery codes form: %d", r.StatusCode)
	}
	r = c.Do("POST", "/.mfa/access-keys", url.Values{"csrf_token": {csrf}})
	if r.StatusCode != http.StatusOK || !strings.Contains(string(r.Body), "Access key id: MKIA") {
		t.Fatalf("access key form: %d", r.StatusCode)
	}
	r = c.Do("POST", "/.mfa/devices/"+serial+"/deactivate", url.Values{"csrf_token": {csrf}})
	if r.StatusCode != http.StatusOK || !strings.Contains(string(r.Body), "The device is removed") {
		t.Fatalf("deactivate form: %d %s", r.StatusCode, r.Body)
	}
	// The page after removal carries the new session's token: its forms still work.
	next := match(t, csrfField, r.Body)
	if r := c.Do("POST", "/.mfa/devices/virtual", url.Values{"csrf_token": {next}, "name": {"tablet"}}); r.StatusCode != http.StatusOK {
		t.Fatalf("a form after removal: %d", r.StatusCode)
	}
}
