package gate_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/internal/housetest"
	"github.com/caddy-mfa/caddy-mfa/session"
)

const roleRoute = `{"Statement": [{"Sid": "Deploy", "Effect": "Allow", "Condition": {"StringEquals": {"role:Name": "deployer"}}},
	{"Sid": "Public", "Effect": "Allow", "Resource": "/public/*"}]}`

func roleGateEnv(t *testing.T, declared ...string) *env {
	specs := []housetest.RoleSpec{}
	for _, name := range declared {
		specs = append(specs, housetest.RoleSpec{Name: name, Trust: `{"Statement": [{"Effect": "Allow", "Condition": {"Bool": {"mfa:Present": "true"}}}]}`})
	}
	return newEnv(t, housetest.WithPolicy(t, roleRoute), housetest.WithRoles(t, specs...))
}

// roleToken is a token of alice's for role ("" for a plain token), signed as AssumeRole would.
func roleToken(t *testing.T, e *env, role string) string {
	t.Helper()
	now := e.Clock.Now()
	c := session.Claims{User: "alice", Issued: now, SignedIn: now, Expires: now.Add(time.Hour), MFATime: now, Method: "virtual",
		Role: role, RoleSessionName: map[bool]string{true: "ci", false: ""}[role != ""]}
	tok, err := e.Ops.Ring.Sign(&c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestForgedRoleHeaderNeverReachesTheUpstream: X-MFA-Role comes from the token alone; a
// client's, in any spelling, is removed, and a plain token claiming a role in it gets nowhere.
func TestForgedRoleHeaderNeverReachesTheUpstream(t *testing.T) {
	e := roleGateEnv(t, "deployer")
	forged := []string{"X-MFA-Role", "x-mfa-role", "X-Mfa-Role", "X_MFA_ROLE", "x_mfa_role", "X-Mfa_Role", "X_Mfa-Role", "X-MFA-ROLE"}
	for _, tc := range []struct {
		token, want string
		status      int
		path        string
	}{{roleToken(t, e, "deployer"), "deployer", 200, "/deploy/web"}, {roleToken(t, e, ""), "", 200, "/public/a"}, {"", "", 200, "/public/a"}} {
		for _, name := range forged {
			headers := []string{name, "admin"}
			if tc.token != "" {
				headers = append(headers, "Authorization", "Bearer "+tc.token)
			}
			resp := rawRequest(t, e, "GET", tc.path, "app.example.com", headers...)
			up := e.Seen.Take()
			if resp.StatusCode != tc.status || up == nil {
				t.Fatalf("%s on %s: %d", name, tc.path, resp.StatusCode)
			}
			for k, v := range up.Header {
				if strings.HasPrefix(cgiName(k), "x-mfa-") && strings.Contains(strings.Join(v, ","), "admin") {
					t.Errorf("%s: the upstream got %s: %v", name, k, v)
				}
			}
			if got := up.Header.Get("X-Mfa-Role"); got != tc.want {
				t.Errorf("%s on %s: X-Mfa-Role %q, want %q", name, tc.path, got, tc.want)
			}
		}
		plainDeploy := rawRequest(t, e, "GET", "/deploy/web", "app.example.com", "X-MFA-Role", "deployer", "Authorization", "Bearer "+roleToken(t, e, ""))
		if plainDeploy.StatusCode != http.StatusForbidden {
			t.Fatalf("a plain token with a forged X-MFA-Role: %d", plainDeploy.StatusCode)
		}
	}
}

// TestATokenOfARoleNoLongerDeclaredIsRefused: a role dropped from the config takes its tokens
// with it (a node that does not know the role cannot narrow the token by its policy).
func TestATokenOfARoleNoLongerDeclaredIsRefused(t *testing.T) {
	minted := roleGateEnv(t, "deployer")
	tok := roleToken(t, minted, "deployer")
	later := roleGateEnv(t, "auditor")
	r := later.Client().Do("GET", "/public/a", nil, "Authorization", "Bearer "+tok)
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(string(r.Body), "no longer declared") {
		t.Fatalf("a token of an undeclared role: %d %s", r.StatusCode, r.Body)
	}
}
