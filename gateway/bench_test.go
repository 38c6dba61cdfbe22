package gateway

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/session"
)

// BenchmarkGateAllow is the request path when the gate lets a request through: credential
// verified, policy evaluated, identity headers set.
func BenchmarkGateAllow(b *testing.B) {
	e := newEnv(b, func(o *Options, _ *Services) { o.Policy = tenStatementPolicy(b) })
	now := e.clock.now()
	// A factor passed five minutes ago: the age header is a number the runtime does not cache.
	claims := session.Claims{User: "alice", Groups: []string{"dev"}, Issued: now, SignedIn: now, Expires: now.Add(time.Hour),
		MFATime: now.Add(-5 * time.Minute), Method: "virtual"}
	tok, _ := e.svc.Ring.Sign(&claims)
	w := httptest.NewRecorder()
	_ = e.svc.Cookies.Write(w, httptest.NewRequest("GET", "/", nil), claims)
	cookie := w.Result().Cookies()[0]

	for _, bc := range []struct {
		name string
		set  func(*http.Request)
	}{
		{"token", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }},
		{"cookie", func(r *http.Request) { r.AddCookie(cookie) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "http://app.example.com/items/42", nil)
			r.RemoteAddr = "192.0.2.1:5000"
			bc.set(r)
			sent := r.Header.Clone()
			rec := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				// The gate takes its credential out of the request it passes on: put it back,
				// as the next request would bring it (a map store of the same slices).
				r.Header["Authorization"], r.Header["Cookie"] = sent["Authorization"], sent["Cookie"]
				if _, ok := e.gate.Check(rec, r); !ok {
					b.Fatal("refused")
				}
			}
		})
	}
}

// tenStatementPolicy is a realistic route policy: ten statements, the allowing one last.
func tenStatementPolicy(b *testing.B) *policy.Set {
	var sb strings.Builder
	sb.WriteString(`{"Statement": [`)
	for i := range 8 {
		fmt.Fprintf(&sb, `{"Sid": "S%d", "Effect": "Allow", "Action": ["GET", "HEAD"], "Resource": "/svc%d/*", "Condition": {"Bool": {"mfa:Present": "true"}, "StringEquals": {"user:Groups": "team%d"}}},`, i, i, i)
	}
	sb.WriteString(`{"Sid": "NoKeysOnAdmin", "Effect": "Deny", "Resource": "/admin/*", "Condition": {"StringNotEquals": {"mfa:Method": "webauthn"}}},`)
	sb.WriteString(`{"Sid": "Items", "Effect": "Allow", "Action": "GET", "Resource": "/items/*", "Condition": {"Bool": {"mfa:Present": "true"}, "NumericLessThan": {"mfa:Age": "3600"}}}]}`)
	d, err := policy.Parse("bench.json", []byte(sb.String()))
	if err != nil {
		b.Fatal(err)
	}
	s, err := policy.Compile(d)
	if err != nil {
		b.Fatal(err)
	}
	return s
}
