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
	c := newAPIClient(t, n.url)
	var login struct {
		CSRFToken          string `json:"csrf_token"`
		EnrollmentRequired bool   `json:"enrollment_required"`
	}
	if code := c.call("POST", "/.mfa/api/login", map[string]string{"username": "demo", "password": "demo"}, &login); code != http.StatusOK || !login.EnrollmentRequired {
		t.Fatalf("login: %d %+v", code, login)
	}
	c.csrf = login.CSRFToken
	var created struct{ Serial, Secret string }
	if code := c.call("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "phone"}, &created); code != http.StatusOK {
		t.Fatalf("create: %d", code)
	}
	now := time.Now()
	var enabled struct {
		CSRFToken string `json:"csrf_token"`
	}
	code := c.call("POST", "/.mfa/api/devices/"+created.Serial+"/enable",
		map[string]string{"code1": oathtool(t, created.Secret, now.Add(-30*time.Second)), "code2": oathtool(t, created.Secret, now)}, &enabled)
	if code != http.StatusOK {
		t.Fatalf("enable with oathtool codes: %d", code)
	}
	var page string
	if code := c.call("GET", "/", nil, &page); code != http.StatusOK || !strings.Contains(page, "Hello, demo!") || !strings.Contains(page, "<dd>virtual</dd>") {
		t.Fatalf("the demo app: %d %s", code, page)
	}

	// Another sign-in: the gate asks for a factor; the next step's code passes (within skew),
	// and only once.
	c2 := newAPIClient(t, n.url)
	c2.call("POST", "/.mfa/api/login", map[string]string{"username": "demo", "password": "demo"}, &login)
	c2.csrf = login.CSRFToken
	if code := c2.call("GET", "/", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("without a factor: %d", code)
	}
	next := oathtool(t, created.Secret, now.Add(30*time.Second))
	if code := c2.call("POST", "/.mfa/api/verify", map[string]string{"code": next}, nil); code != http.StatusOK {
		t.Fatalf("verify: %d", code)
	}
	if code := c2.call("GET", "/", nil, &page); code != http.StatusOK || !strings.Contains(page, "Hello, demo!") {
		t.Fatalf("after verify: %d", code)
	}
	c3 := newAPIClient(t, n.url)
	c3.call("POST", "/.mfa/api/login", map[string]string{"username": "demo", "password": "demo"}, &login)
	c3.csrf = login.CSRFToken
	var refused struct {
		Error struct{ Code string } `json:"error"`
	}
	if code := c3.call("POST", "/.mfa/api/verify", map[string]string{"code": next}, &refused); code != http.StatusForbidden || refused.Error.Code != "InvalidAuthenticationCode" {
		t.Fatalf("a replayed code: %d %+v", code, refused)
	}

	// Nothing secret reached the log or the storage in clear.
	n.stop()
	u, _ := url.Parse(n.url)
	secrets := []string{created.Secret, next, login.CSRFToken, enabled.CSRFToken}
	for _, ck := range c2.http.Jar.Cookies(u) {
		secrets = append(secrets, ck.Value)
	}
	assertNoSecrets(t, n, secrets...)
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
