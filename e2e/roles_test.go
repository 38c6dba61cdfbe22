package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	// The deploy route needs the deployer role; the rest of the app a factor, as before.
	e2eDeployRoute = `{"Version": "2026-11-01", "Statement": [
		{"Sid": "Deploy", "Effect": "Allow", "Action": "POST", "Resource": "/deploy/*", "Condition": {"StringEquals": {"role:Name": "deployer"}}},
		{"Sid": "App", "Effect": "Allow", "NotResource": "/deploy/*", "Condition": {"Bool": {"mfa:Present": "true"}}}]}`
	// Developers with a factor of the last 5 minutes may deploy.
	e2eDeployerTrust = `{"Version": "2026-11-01", "Statement": [{"Sid": "FreshDevelopers", "Effect": "Allow",
		"Condition": {"StringEquals": {"user:Groups": "developers"}, "Bool": {"mfa:Present": "true"}, "NumericLessThan": {"mfa:Age": "300"}}}]}`
)

// startRoleDemo is the demo with a deployer role and a deploy route, and an app that shows
// X-MFA-Role.
func startRoleDemo(t *testing.T) *node {
	dir := t.TempDir()
	route, trust := filepath.Join(dir, "route.json"), filepath.Join(dir, "trust.json")
	for file, doc := range map[string]string{route: e2eDeployRoute, trust: e2eDeployerTrust} {
		if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return startDemo(t,
		"\t\t\tgroups developers\n\t\t}\n", "\t\t\tgroups developers\n\t\t}\n\t\trole deployer {\n\t\t\ttrust "+trust+"\n\t\t\tmax_duration 30m\n\t\t}\n",
		"\tmfa\n\treverse_proxy", "\tmfa {\n\t\tpolicy "+route+"\n\t}\n\treverse_proxy",
		"<dt>X-MFA-Age</dt>", "<dt>X-MFA-Role</dt><dd>{http.request.header.X-MFA-Role}</dd>\n\t\t<dt>X-MFA-Age</dt>")
}

// TestAssumeRoleThroughTheBinary: `caddy mfa assume-role` with an access key and a fresh code
// buys a deployer token; it deploys as demo, the app seeing X-MFA-Role; a plain MFA token and a
// forged X-MFA-Role do not deploy; a call without a factor is refused in STS's words.
func TestAssumeRoleThroughTheBinary(t *testing.T) {
	n := startRoleDemo(t)
	now := time.Now()
	serials, secrets := enrolDevices(t, n, now, "ci")
	admin := "--address=" + strings.TrimPrefix(n.admin, "http://")
	out := n.caddyCLI(t, nil, "access-key", "create", "--user", "demo", admin)
	keyEnv := []string{"MFA_ACCESS_KEY_ID=" + jsonField(t, out, "access_key_id"), "MFA_SECRET_ACCESS_KEY=" + jsonField(t, out, "secret_access_key")}

	out = n.caddyCLI(t, keyEnv, "assume-role", "--url", n.url, "--role", "deployer", "--session-name", "ci-7",
		"--serial", serials[0], "--code", oathtool(t, secrets[0], now.Add(30*time.Second)))
	exports := exportLines(out)
	if exports["MFA_ROLE"] != "deployer" || exports["MFA_ROLE_SESSION_NAME"] != "ci-7" || exports["MFA_AUTHENTICATED"] != "true" {
		t.Fatalf("assume-role export lines: %q", out)
	}
	c := newAPIClient(t, n.url)
	var page string
	code := c.call("POST", "/deploy/web", nil, &page, "Authorization", "Bearer "+exports["MFA_SESSION_TOKEN"], "X-MFA-Role", "admin")
	if code != http.StatusOK || !strings.Contains(page, "<dt>X-MFA-Role</dt><dd>deployer</dd>") || !strings.Contains(page, "<dd>demo</dd>") {
		t.Fatalf("deploy with the role token: %d\n%s", code, page)
	}

	out = n.caddyCLI(t, keyEnv, "get-session-token", "--url", n.url, "--serial", serials[0], "--code", oathtool(t, secrets[0], now.Add(60*time.Second)))
	plain := exportLines(out)["MFA_SESSION_TOKEN"]
	if code = c.call("POST", "/deploy/web", nil, nil, "Authorization", "Bearer "+plain, "X-MFA-Role", "deployer"); code != http.StatusForbidden {
		t.Fatalf("deploy with a plain MFA token and a forged X-MFA-Role: %d", code)
	}
	if code = c.call("GET", "/", nil, &page, "Authorization", "Bearer "+plain, "X_MFA_Role", "deployer"); code != http.StatusOK ||
		!strings.Contains(page, "<dt>X-MFA-Role</dt><dd></dd>") {
		t.Fatalf("the app with a plain token and a forged X_MFA_Role: %d\n%s", code, page)
	}

	var refused struct {
		Error struct{ Code, Message string }
	}
	code = c.call("POST", "/.mfa/api/assume-role", map[string]string{"role": "deployer"}, &refused,
		"Authorization", "Basic "+basicValue(keyEnv))
	if code != http.StatusForbidden || refused.Error.Message != "User: demo is not authorized to perform: sts:AssumeRole on resource: role deployer" {
		t.Fatalf("AssumeRole without a factor: %d %+v", code, refused)
	}
	if metrics := adminGet(t, n, "/metrics"); !strings.Contains(metrics, `caddy_mfa_tokens_issued_total{kind="role"} 1`) ||
		!strings.Contains(metrics, `caddy_mfa_tokens_issued_total{kind="session"} 1`) {
		t.Fatalf("tokens_issued_total by kind:\n%s", grepLines(metrics, "tokens_issued"))
	}
}

func exportLines(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		k, v, _ := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		m[k] = v
	}
	return m
}

func basicValue(keyEnv []string) string {
	id, secret := strings.TrimPrefix(keyEnv[0], "MFA_ACCESS_KEY_ID="), strings.TrimPrefix(keyEnv[1], "MFA_SECRET_ACCESS_KEY=")
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(id, secret)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

func grepLines(s, word string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, word) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
