package admin_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/caddy-mfa/caddy-mfa/admin"
	"github.com/caddy-mfa/caddy-mfa/internal/housetest"
)

// TestAdminListsRolesAndLintsTrust: GET /mfa/roles lists the declared roles, and the linter
// flags a trust policy that lets callers without a factor in.
func TestAdminListsRolesAndLintsTrust(t *testing.T) {
	e := newEnv(t, housetest.WithRoles(t, housetest.RoleSpec{Name: "deployer", Trust: `{"Statement": [{"Effect": "Allow",
		"Condition": {"Bool": {"mfa:Present": "true"}}}]}`, Policy: `{"Statement": [{"Effect": "Allow", "Resource": "/deploy/*"}]}`}))
	a := admin.New(e.Ops)
	code, _, raw := housetest.AdminCall(t, a, "GET", "/mfa/roles", nil)
	var list []map[string]any
	if err := json.Unmarshal(raw, &list); code != http.StatusOK || err != nil || len(list) != 1 || list[0]["name"] != "deployer" ||
		list[0]["max_duration_seconds"] != 3600.0 {
		t.Fatalf("GET /mfa/roles: %d %s", code, raw)
	}
	if code, _, raw := housetest.AdminCall(t, admin.New(newEnv(t).Ops), "GET", "/mfa/roles", nil); code != http.StatusOK || strings.TrimSpace(string(raw)) != "[]" {
		t.Fatalf("no roles: %d %s", code, raw)
	}
	keyOnly := json.RawMessage(`{"Statement": [{"Sid": "Devs", "Effect": "Allow", "Condition": {"StringEquals": {"user:Groups": "dev"}}}]}`)
	_, m, raw := housetest.AdminCall(t, a, "POST", "/mfa/policy/lint", map[string]any{"policy": keyOnly, "trust": true})
	if findings, _ := m["findings"].([]any); len(findings) != 1 || !strings.Contains(string(raw), "access-key-only") {
		t.Fatalf("lint as trust: %s", raw)
	}
	if _, _, raw = housetest.AdminCall(t, a, "POST", "/mfa/policy/lint", map[string]any{"policy": keyOnly}); strings.Contains(string(raw), "trust policy") {
		t.Fatalf("lint as a route policy flags it as a trust policy: %s", raw)
	}
}

// TestSimulateARoleToken: role:Name in the simulator's context names the role, and the declared
// role's policy narrows the decision as at the gate.
func TestSimulateARoleToken(t *testing.T) {
	e := newEnv(t, housetest.WithRoles(t, housetest.RoleSpec{Name: "deployer", Trust: `{"Statement": [{"Effect": "Allow",
		"Condition": {"Bool": {"mfa:Present": "true"}}}]}`, Policy: `{"Statement": [{"Sid": "DeployOnly", "Effect": "Allow", "Resource": "/deploy/*"}]}`}))
	a := admin.New(e.Ops)
	route := json.RawMessage(`{"Statement": [{"Sid": "Deployers", "Effect": "Allow", "Condition": {"StringEquals": {"role:Name": "deployer"}}}]}`)
	role := map[string]any{"user:Id": "alice", "mfa:Present": true, "role:Name": "deployer", "role:SessionName": "ci"}
	for _, c := range []struct {
		path, decision, by string
		context            map[string]any
	}{
		{"/deploy/web", "allowed", "route", role},
		{"/app", "implicitDeny", "role", role},
		{"/deploy/web", "implicitDeny", "route", map[string]any{"user:Id": "alice", "mfa:Present": true}},
	} {
		code, m, raw := housetest.AdminCall(t, a, "POST", "/mfa/policy/simulate", map[string]any{"policies": []json.RawMessage{route},
			"request": map[string]string{"method": "POST", "path": c.path}, "context": c.context})
		if code != http.StatusOK || m["decision"] != c.decision || m["deciding_policy"] != c.by {
			t.Errorf("%s %v: %d %s", c.path, c.context, code, raw)
		}
	}
	code, _, raw := housetest.AdminCall(t, a, "POST", "/mfa/policy/simulate", map[string]any{"policies": []json.RawMessage{route},
		"request": map[string]string{"path": "/"}, "context": map[string]any{"role:Name": "deployer"}})
	if code != http.StatusBadRequest {
		t.Fatalf("an anonymous caller with a role: %d %s", code, raw)
	}
}
