package caddymodule

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap/zapcore"

	"github.com/caddy-mfa/caddy-mfa/policy"
)

// TestLogDecisionCost: without an access log logDecision builds nothing; with one, a gated
// request's fields cost four allocations (the fields' object, and Caddy's list of extra fields
// growing and clearing its cache), whatever the number of fields.
func TestLogDecisionCost(t *testing.T) {
	now := time.Now()
	ctx := policy.Context{AuthType: policy.AuthSession, UserID: "alice", Groups: []string{"dev"}, MFAPresent: true,
		MFATime: now.Add(-time.Minute), MFAMethod: policy.MethodVirtual, Time: now}
	res := policy.Result{Decision: policy.Allowed, By: &policy.StatementRef{Sid: "Reads", Source: "api.json"}}
	for _, tc := range []struct {
		name      string
		logs      *caddyhttp.ServerLogConfig
		maxAllocs float64
	}{{"no access log", nil, 0}, {"access log", &caddyhttp.ServerLogConfig{}, 4}} {
		srv := &caddyhttp.Server{Logs: tc.logs}
		r := httptest.NewRequest("GET", "/api/x", nil)
		r = r.WithContext(context.WithValue(r.Context(), caddyhttp.ServerCtxKey, srv))
		reqs := make([]*http.Request, 201) // a fresh request, with its own list of fields, each time
		for i := range reqs {
			reqs[i] = r.WithContext(context.WithValue(r.Context(), caddyhttp.ExtraLogFieldsCtxKey, new(caddyhttp.ExtraLogFields)))
		}
		i := 0
		n := testing.AllocsPerRun(200, func() {
			logDecision(reqs[i], ctx, res)
			i++
		})
		t.Logf("%s: %v allocations a request", tc.name, n)
		if n > tc.maxAllocs {
			t.Errorf("%s: %v allocations, want at most %v", tc.name, n, tc.maxAllocs)
		}
	}
}

// TestLogDecisionSecure: req:Secure is logged only where Caddy's own "tls" field would mislead,
// that is where a trusted proxy's X-Forwarded-Proto decided it.
func TestLogDecisionSecure(t *testing.T) {
	for _, tc := range []struct {
		secure, tls bool
		want        any // nil: absent
	}{{true, false, true}, {false, true, false}, {true, true, nil}, {false, false, nil}} {
		enc := zapcore.NewMapObjectEncoder()
		d := &decisionLog{ctx: policy.Context{Secure: tc.secure}, tls: tc.tls}
		if err := d.MarshalLogObject(enc); err != nil {
			t.Fatal(err)
		}
		if got := enc.Fields["mfa_secure"]; got != tc.want {
			t.Errorf("req:Secure %v over tls=%v: mfa_secure = %v, want %v", tc.secure, tc.tls, got, tc.want)
		}
	}
}
