package gate_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/gate"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/session"
)

// BenchmarkGateAllow is the request path when the gate lets a request through: credential
// verified, policy evaluated, identity headers set.
func BenchmarkGateAllow(b *testing.B) {
	e := newEnv(b, func(o *gate.Options, _ *auth.Config, _ *auth.Deps) { o.Policy = tenStatementPolicy(b) })
	now := e.Clock.Now()
	// A factor passed five minutes ago: the age header is a number the runtime does not cache.
	claims := session.Claims{User: "alice", Groups: []string{"dev"}, Issued: now, SignedIn: now, Expires: now.Add(time.Hour),
		MFATime: now.Add(-5 * time.Minute), Method: "virtual"}
	tok, _ := e.Ops.Ring.Sign(&claims)
	w := httptest.NewRecorder()
	_ = e.Ops.Cookies.Write(w, httptest.NewRequest("GET", "/", nil), claims)
	cookie := w.Result().Cookies()[0]

	for _, bc := range []struct {
		name string
		set  func(*http.Request)
	}{
		{"token", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }},
		{"cookie", func(r *http.Request) { r.AddCookie(cookie) }},
	} {
		b.Run(bc.name, func(b *testing.B) { runAllow(b, e, bc.set) })
	}
}

// runAllow sends requests as a client would, each with the credential set puts in, through the
// gate, and fails when one is refused.
func runAllow(b *testing.B, e *env, set func(*http.Request)) {
	// The request as Go's server hands it over, built directly: httptest.NewRequest parses a
	// request line through a 4 KiB reader each time, and collecting that garbage would be
	// counted against the gate's loop.
	template := httptest.NewRequest("GET", "http://app.example.com/items/42", nil)
	template.RemoteAddr = "192.0.2.1:5000"
	template.Header.Set("User-Agent", "bench/1.0")
	template.Header.Set("Accept", "*/*")
	set(template)
	q := requestBatch{b: b, reqs: make([]*http.Request, 256), make: func() *http.Request {
		r := new(http.Request)
		*r = *template
		u := *template.URL
		r.URL, r.Header = &u, template.Header.Clone()
		return r
	}}
	q.next = len(q.reqs)
	rec := httptest.NewRecorder()
	// One OS thread for the loop, so its CPU time is the gate's work alone (cpu-ns/op): wall time
	// (ns/op) also counts whatever the machine's other processes take from it.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := e.Gate.Check(rec, q.get()); !ok {
			b.Fatal("refused")
		}
	}
	q.reportCPU()
}

// requestBatch hands out requests as a client sends them. The gate changes the request it
// passes on (identity headers set, its credential taken out), so a request is used once; the
// batch is made anew, with the timer stopped, when it runs out.
type requestBatch struct {
	b    *testing.B
	make func() *http.Request
	reqs []*http.Request
	next int
	// cpu is the thread's CPU time while the timer ran, up to the stretch begun at started.
	cpu, started time.Duration
	timed        bool
}

func (q *requestBatch) get() *http.Request {
	if q.next == len(q.reqs) {
		q.stopCPU()
		q.b.StopTimer()
		for i := range q.reqs {
			q.reqs[i] = q.make()
		}
		q.next = 0
		q.b.StartTimer()
		q.started, q.timed = threadCPU()
	}
	q.next++
	return q.reqs[q.next-1]
}

func (q *requestBatch) stopCPU() {
	if now, ok := threadCPU(); ok && q.timed {
		q.cpu += now - q.started
	}
	q.timed = false
}

// reportCPU adds the thread's CPU time per request to the benchmark's figures.
func (q *requestBatch) reportCPU() {
	q.stopCPU()
	if q.cpu > 0 {
		q.b.ReportMetric(float64(q.cpu.Nanoseconds())/float64(q.b.N), "cpu-ns/op")
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
