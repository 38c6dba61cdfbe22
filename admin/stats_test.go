package admin_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/admin"
	"github.com/caddy-mfa/caddy-mfa/policy"
)

// TestPolicyStats: GET /mfa/policy/stats lists every statement with what it decided, dead ones
// at 0; a server that keeps no counts answers an empty list, not an error.
func TestPolicyStats(t *testing.T) {
	e := newEnv(t)
	a := admin.New(e.Ops)
	if code, body := adminGet(a, "/mfa/policy/stats"); code != http.StatusOK || !strings.Contains(body, `"statements":[]`) {
		t.Fatalf("no counts: %d %s", code, body)
	}
	d, err := policy.Parse("api.json", []byte(`{"Statement": [{"Sid": "Reads", "Effect": "Allow", "Action": "GET"}, {"Effect": "Deny", "Action": "DELETE"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	set, err := policy.Compile(d)
	if err != nil {
		t.Fatal(err)
	}
	set.Record(set.Evaluate(&policy.Context{Method: "GET", Path: "/x"}))
	since := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	a.Statements = func() (time.Time, []policy.StatementStat) { return since, policy.MergeStats(set) }
	code, body := adminGet(a, "/mfa/policy/stats")
	want := `{"since":"2026-12-02T08:00:00Z","statements":[{"policy":"api.json","sid":"Reads","effect":"Allow","matches":1},{"policy":"api.json","sid":"#2","effect":"Deny","matches":0}]}`
	if code != http.StatusOK || strings.TrimSpace(body) != want {
		t.Fatalf("stats: %d %s\nwant %s", code, body, want)
	}
}

func adminGet(a *admin.Admin, path string) (int, string) {
	w := httptest.NewRecorder()
	a.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	return w.Code, w.Body.String()
}
