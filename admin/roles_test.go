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
