package admin_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/caddy-mfa/caddy-mfa/admin"
	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/internal/housetest"
)

// TestSimulateWithASessionPolicy: the simulator takes a token's session policy, decides by the
// intersection, and says which of the two policies decided.
func TestSimulateWithASessionPolicy(t *testing.T) {
	e := newEnv(t)
	a := admin.New(e.Ops)
	route := json.RawMessage(`{"Statement": [{"Sid": "Signed", "Effect": "Allow", "Condition": {"Bool": {"mfa:Present": "true"}}},
		{"Sid": "NoAdmin", "Effect": "Deny", "Resource": "/admin/*"}]}`)
	session := json.RawMessage(`{"Statement": [{"Sid": "ReadsOnly", "Effect": "Allow", "Action": "GET"},
		{"Sid": "NoBilling", "Effect": "Deny", "Resource": "/billing/*"}]}`)
	mfa := map[string]any{"user:Id": "alice", "mfa:Present": true}
	cases := []struct {
		name, method, path   string
		context              map[string]any
		decision, by, remedy string
	}{
		{"both allow", "GET", "/app", mfa, "allowed", "route", "none"},
		{"session says nothing", "POST", "/app", mfa, "implicitDeny", "session", "forbidden"},
		{"session denies", "GET", "/billing/x", mfa, "explicitDeny", "session", "forbidden"},
		{"route denies", "GET", "/admin/x", mfa, "explicitDeny", "route", "forbidden"},
		{"route wants a factor", "GET", "/app", map[string]any{"user:Id": "alice", "mfa:Present": false}, "implicitDeny", "route", "mfa"},
		{"no factor, outside the session", "PUT", "/app", map[string]any{"user:Id": "alice", "mfa:Present": false}, "implicitDeny", "route", "forbidden"},
	}
	for _, c := range cases {
		code, m, raw := housetest.AdminCall(t, a, "POST", "/mfa/policy/simulate", map[string]any{"policies": []json.RawMessage{route},
			"session_policy": session, "request": map[string]string{"method": c.method, "path": c.path}, "context": c.context})
		if code != http.StatusOK || m["decision"] != c.decision || m["deciding_policy"] != c.by || m["remedy"] != c.remedy {
			t.Errorf("%s: %d %s", c.name, code, raw)
		}
	}
	code, m, raw := housetest.AdminCall(t, a, "POST", "/mfa/policy/simulate", map[string]any{"policies": []json.RawMessage{route},
		"session_policy": json.RawMessage(`{"Statement": [{"Effect": "Maybe"}]}`), "request": map[string]string{"path": "/"}})
	if code != http.StatusBadRequest || housetest.ErrCode(m) != auth.CodeInvalidInput || !json.Valid(raw) {
		t.Fatalf("a bad session policy: %d %s", code, raw)
	}
}
