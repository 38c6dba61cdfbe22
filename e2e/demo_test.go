package e2e

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDemoFlowWithOathtool drives the README's demo through its JSON API with codes from
// oathtool: sign in, enrol, reach the app, sign in again, pass the factor, replay refused.
func TestDemoFlowWithOathtool(t *testing.T) {
	n := startDemo(t)
	secret, enabledCSRF, now := enrolTheDemoUser(t, n)

	// Another sign-in: the gate asks for a factor; the next step's code passes (within skew),
	// and only once.
	c2 := n.signIn(t, "demo")
	if code := c2.call("GET", "/", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("without a factor: %d", code)
	}
	next := oathtool(t, secret, now.Add(30*time.Second))
	if code := c2.call("POST", "/.mfa/api/verify", map[string]string{"code": next}, nil); code != http.StatusOK {
		t.Fatalf("verify: %d", code)
	}
	var page string
	if code := c2.call("GET", "/", nil, &page); code != http.StatusOK || !strings.Contains(page, "Hello, demo!") {
		t.Fatalf("after verify: %d", code)
	}
	c3 := n.signIn(t, "demo")
	var refused struct {
		Error struct{ Code string } `json:"error"`
	}
	if code := c3.call("POST", "/.mfa/api/verify", map[string]string{"code": next}, &refused); code != http.StatusForbidden || refused.Error.Code != "InvalidAuthenticationCode" {
		t.Fatalf("a replayed code: %d %+v", code, refused)
	}

	// Nothing secret reached the log or the storage in clear.
	n.stop()
	u, _ := url.Parse(n.url)
	secrets := []string{secret, next, c3.csrf, enabledCSRF}
	for _, ck := range c2.http.Jar.Cookies(u) {
		secrets = append(secrets, ck.Value)
	}
	assertNoSecrets(t, n, secrets...)
}

// enrolTheDemoUser signs demo in, who must enrol, enrols a virtual device with oathtool's codes for
// now and the step before, and checks the demo app; it returns the device's secret, the CSRF
// token the enabled session got, and now.
func enrolTheDemoUser(t *testing.T, n *node) (secret, enabledCSRF string, now time.Time) {
	t.Helper()
	c := newAPIClient(t, n.url)
	var login struct {
		CSRFToken          string `json:"csrf_token"`
		EnrollmentRequired bool   `json:"enrollment_required"`
	}
	if code := c.call("POST", "/.mfa/api/login", map[string]string{"username": "demo", "password": "demo"}, &login); code != http.StatusOK || !login.EnrollmentRequired {
		t.Fatalf("login: %d %+v", code, login)
	}
	c.csrf = login.CSRFToken
	now = time.Now()
	_, secret = c.enrol(t, "phone", now)
	var page string
	if code := c.call("GET", "/", nil, &page); code != http.StatusOK || !strings.Contains(page, "Hello, demo!") || !strings.Contains(page, "<dd>virtual</dd>") {
		t.Fatalf("the demo app: %d %s", code, page)
	}
	return secret, c.csrf, now
}

// assertNoSecrets scans the node's log and every file it wrote for the secrets of the run.
func assertNoSecrets(t *testing.T, n *node, secrets ...string) {
	t.Helper()
	if strings.Contains(n.log.String(), "password") {
		t.Error("the log mentions a password")
	}
	for _, s := range secrets {
		if strings.Contains(n.log.String(), s) {
			t.Errorf("the log holds %q", s)
		}
	}
	_ = filepath.Walk(n.dataDir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || filepath.Base(path) == "Caddyfile" {
			return nil
		}
		raw, _ := os.ReadFile(path)
		for _, s := range secrets {
			if strings.Contains(string(raw), s) {
				t.Errorf("%s holds %q in clear", path, s)
			}
		}
		return nil
	})
}
