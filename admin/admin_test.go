package admin_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/caddy-mfa/caddy-mfa/admin"
	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/internal/housetest"
)

func TestAdminUsersKeysAndSessions(t *testing.T) {
	e := newEnv(t)
	a := admin.New(e.Ops)
	createCarolThroughTheAdminAPI(t, e, a)
	id, secret := operatorKeyWorksAtOnce(t, e, a)

	// Deleting a user who holds keys or devices needs force, and then takes them along.
	c := e.Client()
	c.Login("alice", testPassword)
	c.Enrol("phone")
	if code, m, _ := housetest.AdminCall(t, a, "DELETE", "/mfa/users/alice", nil); code != http.StatusConflict || housetest.ErrCode(m) != auth.CodeDeleteConflict {
		t.Fatalf("delete with devices: %d %v", code, m)
	}
	code, m, _ := housetest.AdminCall(t, a, "POST", "/mfa/users/alice/revoke-sessions", nil)
	if code != http.StatusOK {
		t.Fatalf("revoke: %d %v", code, m)
	}
	if r := c.Do("GET", "/app", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a revoked session: %d", r.StatusCode)
	}
	if code, _, _ := housetest.AdminCall(t, a, "DELETE", "/mfa/users/alice?force=true", nil); code != http.StatusOK {
		t.Fatalf("force delete: %d", code)
	}
	if _, err := e.Ops.Devices.Get(t.Context(), "caddy-mfa:alice:phone"); err == nil {
		t.Fatal("the deleted user's device is still there")
	}
	if code, _, _ := housetest.AdminCall(t, a, "DELETE", "/mfa/users/carol?force=true", nil); code != http.StatusOK {
		t.Fatalf("delete carol: %d", code)
	}
	if r := e.Client().Do("GET", "/.mfa/api/whoami", nil, housetest.Basic(id, secret)...); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a deleted user's access key: %d", r.StatusCode)
	}
	if code, m, _ := housetest.AdminCall(t, a, "GET", "/mfa/nothing", nil); code != http.StatusNotFound || housetest.ErrCode(m) != auth.CodeNoSuchEntity {
		t.Fatalf("unknown endpoint: %d %v", code, m)
	}
}

// createCarolThroughTheAdminAPI makes the user carol (refusing a duplicate and a bad name) and checks
// that she can sign in at once and is listed after the two users every env starts with.
func createCarolThroughTheAdminAPI(t *testing.T, e *env, a *admin.Admin) {
	t.Helper()
	code, m, _ := housetest.AdminCall(t, a, "POST", "/mfa/users", map[string]any{"name": "carol", "password": "pw-carol", "groups": []string{"ops"}})
	if code != http.StatusCreated || m["name"] != "carol" || m["password_enabled"] != true {
		t.Fatalf("create: %d %v", code, m)
	}
	if code, m, _ := housetest.AdminCall(t, a, "POST", "/mfa/users", map[string]any{"name": "carol"}); code != http.StatusConflict || housetest.ErrCode(m) != auth.CodeEntityAlreadyExists {
		t.Fatalf("duplicate: %d %v", code, m)
	}
	if code, m, _ := housetest.AdminCall(t, a, "POST", "/mfa/users", map[string]any{"name": "bad name"}); code != http.StatusBadRequest || housetest.ErrCode(m) != auth.CodeInvalidInput {
		t.Fatalf("bad name: %d %v", code, m)
	}
	if r := e.Client().Login("carol", "pw-carol"); r.StatusCode != http.StatusOK {
		t.Fatalf("the new user cannot sign in: %d", r.StatusCode)
	}
	_, _, raw := housetest.AdminCall(t, a, "GET", "/mfa/users", nil)
	var users []housetest.UserView
	_ = json.Unmarshal(raw, &users)
	if len(users) != 3 || users[2].Name != "carol" {
		t.Fatalf("list: %s", raw)
	}
}

// operatorKeyWorksAtOnce has the operator give carol an access key, checks that it signs her in
// straight away, and returns it so the test can see it die with her.
func operatorKeyWorksAtOnce(t *testing.T, e *env, a *admin.Admin) (id, secret string) {
	t.Helper()
	code, m, _ := housetest.AdminCall(t, a, "POST", "/mfa/users/carol/access-keys", nil)
	if code != http.StatusCreated {
		t.Fatalf("access key: %d %v", code, m)
	}
	id, secret = m["access_key_id"].(string), m["secret_access_key"].(string)
	var who housetest.WhoAmI
	e.Client().Do("GET", "/.mfa/api/whoami", nil, housetest.Basic(id, secret)...).JSON(&who)
	if who.User != "carol" || who.AuthType != "access_key" {
		t.Fatalf("whoami with the operator's key: %+v", who)
	}
	if code, m, _ := housetest.AdminCall(t, a, "POST", "/mfa/users/nobody/access-keys", nil); code != http.StatusNotFound || housetest.ErrCode(m) != auth.CodeNoSuchEntity {
		t.Fatalf("key for nobody: %d %v", code, m)
	}
	return id, secret
}

func TestAdminSimulateAndLint(t *testing.T) {
	e := newEnv(t)
	a := admin.New(e.Ops)
	doc := json.RawMessage(`{"Statement": [
		{"Sid": "Reads", "Effect": "Allow", "Action": "GET", "Resource": "/api/*", "Condition": {"Null": {"user:Id": "false"}}},
		{"Sid": "FreshWrites", "Effect": "Allow", "Action": "POST", "Resource": "/api/*",
		 "Condition": {"Bool": {"mfa:Present": "true"}, "NumericLessThan": {"mfa:Age": "900"}}}]}`)
	cases := []struct {
		name     string
		request  map[string]string
		context  map[string]any
		decision string
		remedy   string
		maxAge   float64
	}{
		{"read with an access key", map[string]string{"method": "GET", "path": "/api/x"}, map[string]any{"user:Id": "alice"}, "allowed", "none", -1},
		{"write with an access key", map[string]string{"method": "POST", "path": "/api/x"}, map[string]any{"user:Id": "alice"}, "implicitDeny", "mfa", 899},
		{"write with old MFA", map[string]string{"method": "POST", "path": "/api/x"}, map[string]any{"user:Id": "alice", "mfa:Present": true, "mfa:Age": 1200}, "implicitDeny", "mfa", 899},
		{"write with fresh MFA", map[string]string{"method": "POST", "path": "/api/x"}, map[string]any{"user:Id": "alice", "mfa:Present": "true", "mfa:Age": "60"}, "allowed", "none", -1},
		{"anonymous", map[string]string{"method": "GET", "path": "/api/x"}, map[string]any{}, "implicitDeny", "login", 899},
		{"elsewhere", map[string]string{"method": "GET", "path": "/other"}, map[string]any{"user:Id": "alice", "mfa:Present": true}, "implicitDeny", "forbidden", 899},
		// The simulator sees the request as the gate does: canonical method, path and host.
		{"lower-case method", map[string]string{"method": "post", "path": "/api/x"}, map[string]any{"user:Id": "alice"}, "implicitDeny", "mfa", 899},
		{"dot segments", map[string]string{"method": "GET", "path": "/api/../other"}, map[string]any{"user:Id": "alice", "mfa:Present": true}, "implicitDeny", "forbidden", 899},
		{"escaped dots", map[string]string{"method": "GET", "path": "/other/%2e%2e/api/x"}, map[string]any{"user:Id": "alice"}, "allowed", "none", -1},
	}
	for _, c := range cases {
		code, m, raw := housetest.AdminCall(t, a, "POST", "/mfa/policy/simulate", map[string]any{
			"policies": []json.RawMessage{doc}, "request": c.request, "context": c.context})
		if code != http.StatusOK || m["decision"] != c.decision || m["remedy"] != c.remedy {
			t.Errorf("%s: %d %s", c.name, code, raw)
			continue
		}
		if got, ok := m["max_age"].(float64); (c.maxAge >= 0) != ok || (ok && got != c.maxAge) {
			t.Errorf("%s: max_age %v, want %v", c.name, m["max_age"], c.maxAge)
		}
	}
	for _, bad := range []map[string]any{
		{"policies": []json.RawMessage{json.RawMessage(`{"Statement": []}`)}, "request": map[string]string{"path": "/"}},
		{"policies": []json.RawMessage{doc}, "request": map[string]string{"path": "no-slash"}},
		{"policies": []json.RawMessage{doc}, "request": map[string]string{"path": "/api/..%2fx"}},
		{"policies": []json.RawMessage{doc}, "request": map[string]string{"path": "/api;x/y"}},
		{"policies": []json.RawMessage{doc}, "request": map[string]string{"path": "/"}, "context": map[string]any{"aws:username": "x"}},
		{"policies": []json.RawMessage{doc}, "request": map[string]string{"path": "/"}, "context": map[string]any{"mfa:Present": "true"}},
		{"request": map[string]string{"path": "/"}},
	} {
		if code, m, raw := housetest.AdminCall(t, a, "POST", "/mfa/policy/simulate", bad); code != http.StatusBadRequest || housetest.ErrCode(m) != auth.CodeInvalidInput {
			t.Errorf("bad simulation %v: %d %s", bad, code, raw)
		}
	}
	code, m, raw := housetest.AdminCall(t, a, "POST", "/mfa/policy/lint", map[string]any{"policy": json.RawMessage(
		`{"Statement": [{"Sid": "Trap", "Effect": "Deny", "Condition": {"Bool": {"mfa:Present": "false"}}}]}`)})
	if code != http.StatusOK || !strings.Contains(string(raw), "BoolIfExists") {
		t.Fatalf("lint: %d %v", code, m)
	}
}

// TestSimulatorSeesTheAuthenticator: the simulator takes mfa:UserVerified, mfa:BackupEligible
// and mfa:Aaguid, as the gate does for a webauthn factor.
func TestSimulatorSeesTheAuthenticator(t *testing.T) {
	e := newEnv(t)
	a := admin.New(e.Ops)
	doc := json.RawMessage(`{"Statement": [
		{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": {"mfa:Present": "true"}}},
		{"Effect": "Deny", "Action": "*", "Resource": "/admin/*", "Condition": {"BoolIfExists": {"mfa:BackupEligible": "true"}}},
		{"Effect": "Deny", "Action": "*", "Resource": "/admin/*", "Condition": {"StringNotEqualsIfExists": {"mfa:Aaguid": "ee882879-721c-4913-9775-3dfcce97072a"}}}]}`)
	key := map[string]any{"user:Id": "alice", "mfa:Present": true, "mfa:Method": "webauthn"}
	with := func(extra map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range key {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	for name, c := range map[string]struct {
		context  map[string]any
		decision string
	}{
		"bound key of the model": {with(map[string]any{"mfa:BackupEligible": false, "mfa:UserVerified": true, "mfa:Aaguid": "ee882879-721c-4913-9775-3dfcce97072a"}), "allowed"},
		"synced passkey":         {with(map[string]any{"mfa:BackupEligible": "true"}), "explicitDeny"},
		"another model":          {with(map[string]any{"mfa:Aaguid": "00000000-0000-0000-0000-000000000001"}), "explicitDeny"},
		"a TOTP code (no facts)": {map[string]any{"user:Id": "alice", "mfa:Present": true, "mfa:Method": "virtual", "mfa:BackupEligible": true}, "explicitDeny"}, // absent: IfExists matches
	} {
		code, m, raw := housetest.AdminCall(t, a, "POST", "/mfa/policy/simulate", map[string]any{
			"policies": []json.RawMessage{doc}, "request": map[string]string{"method": "GET", "path": "/admin/x"}, "context": c.context})
		if code != http.StatusOK || m["decision"] != c.decision {
			t.Errorf("%s: %d %s, want %s", name, code, raw, c.decision)
		}
	}
	if code, _, raw := housetest.AdminCall(t, a, "POST", "/mfa/policy/simulate", map[string]any{
		"policies": []json.RawMessage{doc}, "request": map[string]string{"path": "/"}, "context": with(map[string]any{"mfa:UserVerified": "maybe"})}); code != http.StatusBadRequest {
		t.Errorf("mfa:UserVerified maybe: %d %s", code, raw)
	}
}
