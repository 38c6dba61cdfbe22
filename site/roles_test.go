package site_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/internal/housetest"
)

const (
	// The deploy route: deployers deploy, everyone with a factor reads.
	deployRoute = `{"Statement": [
		{"Sid": "Deploy", "Effect": "Allow", "Action": "POST", "Resource": "/deploy/*", "Condition": {"StringEquals": {"role:Name": "deployer"}}},
		{"Sid": "Read", "Effect": "Allow", "Action": "GET", "Condition": {"Bool": {"mfa:Present": "true"}}}]}`
	freshFactorTrust = `{"Statement": [{"Sid": "FreshFactor", "Effect": "Allow",
		"Condition": {"Bool": {"mfa:Present": "true"}, "NumericLessThan": {"mfa:Age": "300"}}}]}`
	deployOnlyPolicy = `{"Statement": [{"Sid": "DeployOnly", "Effect": "Allow", "Resource": "/deploy/*"}]}`
)

func roleEnv(t *testing.T) *env {
	return newEnv(t, housetest.WithPolicy(t, deployRoute), housetest.WithRoles(t,
		housetest.RoleSpec{Name: "deployer", Trust: freshFactorTrust, Policy: deployOnlyPolicy},
		housetest.RoleSpec{Name: "auditor", Trust: `{"Statement": [{"Effect": "Allow", "Condition": {"StringEquals": {"user:Id": "bob"}}}]}`}))
}

// assumeRole calls AssumeRole with the credential headers and body; it returns the answer.
func assumeRole(e *env, body map[string]any, headers ...string) (*housetest.Response, map[string]any) {
	r := e.Client().Do("POST", "/.mfa/api/assume-role", body, headers...)
	var out map[string]any
	r.JSON(&out)
	return r, out
}

// TestAssumeRoleFlow: an access key and a fresh code buy a deployer token; it reaches the deploy
// route as alice with role:Name, and only the deploy route; the plain token does not deploy.
func TestAssumeRoleFlow(t *testing.T) {
	e := roleEnv(t)
	id, key, serial, secret := apiConsumer(t, e)
	e.Clock.Advance(30 * time.Second)
	r, out := assumeRole(e, map[string]any{"role": "deployer", "serial": serial, "code": e.Code(secret, 0), "session_name": "ci-42"}, housetest.Basic(id, key)...)
	if r.StatusCode != http.StatusOK || out["role"] != "deployer" || out["role_session_name"] != "ci-42" || out["mfa_authenticated"] != true {
		t.Fatalf("AssumeRole: %d %s", r.StatusCode, r.Body)
	}
	if exp, _ := time.Parse(time.RFC3339, out["expiration"].(string)); !exp.Equal(e.Clock.Now().Add(time.Hour)) {
		t.Fatalf("default lifetime: expires %v, want an hour", exp)
	}
	tok := out["session_token"].(string)
	api := e.Client()
	r = api.Do("POST", "/deploy/web", nil, bearer(tok)...)
	var h map[string]string
	r.JSON(&h)
	if r.StatusCode != http.StatusOK || h["X-Mfa-User"] != "alice" || h["X-Mfa-Role"] != "deployer" || h["X-Mfa-Auth-Type"] != "token" {
		t.Fatalf("deploy with the role token: %d %s", r.StatusCode, r.Body)
	}
	if r = api.Do("GET", "/app", nil, bearer(tok)...); r.StatusCode != http.StatusForbidden || r.ErrorCode() != auth.CodeAccessDenied {
		t.Fatalf("the role token outside the role's policy: %d %s", r.StatusCode, r.Body)
	}
	plain := mintToken(t, e, id, key, serial, secret, nil)
	if r = api.Do("POST", "/deploy/web", nil, bearer(plain)...); r.StatusCode != http.StatusForbidden {
		t.Fatalf("deploy with a plain token: %d %s", r.StatusCode, r.Body)
	}
	var who map[string]any
	api.Do("GET", "/.mfa/api/whoami", nil, bearer(tok)...).JSON(&who)
	if role, _ := who["role"].(map[string]any); who["user"] != "alice" || role["name"] != "deployer" || role["session_name"] != "ci-42" {
		t.Fatalf("whoami with the role token: %+v", who)
	}
	if e.Events("role_assumed") != 1 {
		t.Fatalf("role_assumed events: %d", e.Events("role_assumed"))
	}
}

// TestAssumeRoleRefusals: STS's answers, word for word, for every way to be refused.
func TestAssumeRoleRefusals(t *testing.T) {
	e := roleEnv(t)
	id, key, serial, secret := apiConsumer(t, e)
	basic := housetest.Basic(id, key)
	notAuthorized := "User: alice is not authorized to perform: sts:AssumeRole on resource: role "
	e.Clock.Advance(30 * time.Second)
	cases := []struct {
		name   string
		body   map[string]any
		status int
		code   string
		text   string
	}{
		{"no factor", map[string]any{"role": "deployer"}, 403, auth.CodeAccessDenied, notAuthorized + "deployer"},
		{"trust names someone else", map[string]any{"role": "auditor"}, 403, auth.CodeAccessDenied, notAuthorized + "auditor"},
		{"no such role", map[string]any{"role": "root"}, 403, auth.CodeAccessDenied, notAuthorized + "root"},
		{"role name in another case", map[string]any{"role": "Deployer"}, 403, auth.CodeAccessDenied, notAuthorized + "Deployer"},
		{"wrong code", map[string]any{"role": "deployer", "serial": serial, "code": "000000"}, 403, auth.CodeInvalidAuthCode, auth.MsgBadCode},
		{"someone else's serial", map[string]any{"role": "deployer", "serial": "caddy-mfa:bob:phone", "code": "123456"}, 403, auth.CodeAccessDenied, "Please verify your MFA serial number"},
		{"over max_duration", map[string]any{"role": "deployer", "duration_seconds": 3601}, 400, auth.CodeValidationError,
			"The requested DurationSeconds exceeds the MaxSessionDuration set for this role."},
		{"under the minimum", map[string]any{"role": "deployer", "duration_seconds": 60}, 400, auth.CodeValidationError, "greater than or equal to 900"},
		{"bad session name", map[string]any{"role": "deployer", "session_name": "a b"}, 400, auth.CodeValidationError, "roleSessionName"},
		{"serial without code", map[string]any{"role": "deployer", "serial": serial}, 400, auth.CodeValidationError, "code is required"},
	}
	for _, c := range cases {
		r, _ := assumeRole(e, c.body, basic...)
		if r.StatusCode != c.status || r.ErrorCode() != c.code || !strings.Contains(string(r.Body), c.text) {
			t.Errorf("%s: %d %s; want %d %s %q", c.name, r.StatusCode, r.Body, c.status, c.code, c.text)
		}
	}
	if n := e.Events("role_denied"); n != 4 { // the trust policy's and the unknown roles' refusals
		t.Errorf("%d role_denied events, want 4", n)
	}
	if r, _ := assumeRole(e, map[string]any{"role": "deployer"}); r.StatusCode != http.StatusUnauthorized || r.ErrorCode() != auth.CodeAuthRequired {
		t.Fatalf("anonymous: %d %s", r.StatusCode, r.Body)
	}
	// A factor older than the trust policy allows: the plain MFA token of five minutes ago.
	old := mintToken(t, e, id, key, serial, secret, nil)
	e.Clock.Advance(5 * time.Minute)
	if r, _ := assumeRole(e, map[string]any{"role": "deployer"}, bearer(old)...); r.StatusCode != http.StatusForbidden || !strings.Contains(string(r.Body), notAuthorized) {
		t.Fatalf("a factor of 5 minutes ago: %d %s", r.StatusCode, r.Body)
	}
}

// TestRoleTokensDoNotChain: a role token can assume no role (not even its own) and buys no
// session token; the code sent with the attempt is not spent.
func TestRoleTokensDoNotChain(t *testing.T) {
	e := roleEnv(t)
	id, key, serial, secret := apiConsumer(t, e)
	fresh := mintToken(t, e, id, key, serial, secret, nil)
	r, out := assumeRole(e, map[string]any{"role": "deployer"}, bearer(fresh)...)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("AssumeRole with a fresh MFA token: %d %s", r.StatusCode, r.Body)
	}
	tok := out["session_token"].(string)
	e.Clock.Advance(30 * time.Second)
	code := e.Code(secret, 0)
	for _, role := range []string{"deployer", "auditor"} {
		r, _ = assumeRole(e, map[string]any{"role": role, "serial": serial, "code": code}, bearer(tok)...)
		if r.StatusCode != http.StatusForbidden || !strings.Contains(string(r.Body), "Cannot call AssumeRole with role session credentials") {
			t.Errorf("chaining to %s: %d %s", role, r.StatusCode, r.Body)
		}
	}
	r = e.Client().Do("POST", "/.mfa/api/session-token", map[string]any{"serial": serial, "code": code}, bearer(tok)...)
	if r.StatusCode != http.StatusForbidden || !strings.Contains(string(r.Body), "Cannot call GetSessionToken with session credentials") {
		t.Fatalf("GetSessionToken with a role token: %d %s", r.StatusCode, r.Body)
	}
	if r, _ = assumeRole(e, map[string]any{"role": "deployer", "serial": serial, "code": code}, housetest.Basic(id, key)...); r.StatusCode != http.StatusOK {
		t.Fatalf("the code, after the refused chains: %d %s", r.StatusCode, r.Body)
	}
}

// TestAssumeRoleFromABrowser: a browser session with a fresh factor assumes a role with its
// CSRF token, and not without it.
func TestAssumeRoleFromABrowser(t *testing.T) {
	e := roleEnv(t)
	c := e.Client()
	c.Login("alice", testPassword)
	c.Enrol("phone")
	r := c.Do("POST", "/.mfa/api/assume-role", map[string]any{"role": "deployer"})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("browser AssumeRole: %d %s", r.StatusCode, r.Body)
	}
	csrf := c.CSRF
	c.CSRF = ""
	if r = c.Do("POST", "/.mfa/api/assume-role", map[string]any{"role": "deployer"}); r.StatusCode != http.StatusForbidden || !strings.Contains(string(r.Body), "CSRF") {
		t.Fatalf("browser AssumeRole without CSRF: %d %s", r.StatusCode, r.Body)
	}
	c.CSRF = csrf
}

// TestANarrowedTokenCannotAssumeARole: a token narrowed by a session policy would shed the
// narrowing by assuming a role (the role token does not carry it), with a code or without,
// whatever the session policy says.
func TestANarrowedTokenCannotAssumeARole(t *testing.T) {
	e := roleEnv(t)
	id, key, serial, secret := apiConsumer(t, e)
	for _, p := range []string{
		`{"Version": "2026-11-01", "Statement": [{"Effect": "Allow", "Action": "GET", "Resource": "/reports/*"}]}`,
		`{"Version": "2026-11-01", "Statement": [{"Effect": "Allow", "Resource": "*"}]}`,
		`{"Version": "2026-11-01", "Statement": [{"Effect": "Allow", "Action": "POST", "Resource": "/.mfa/api/assume-role"}]}`,
	} {
		narrowed := mintToken(t, e, id, key, serial, secret, map[string]any{"policy": json.RawMessage(p)})
		e.Clock.Advance(30 * time.Second)
		for _, body := range []map[string]any{{"role": "deployer"}, {"role": "deployer", "serial": serial, "code": e.Code(secret, 0)}} {
			r, _ := assumeRole(e, body, bearer(narrowed)...)
			if r.StatusCode != http.StatusForbidden || !strings.Contains(string(r.Body), "narrowed by a session policy") {
				t.Errorf("%s, %d fields: %d %s", p, len(body), r.StatusCode, r.Body)
			}
		}
	}
}
