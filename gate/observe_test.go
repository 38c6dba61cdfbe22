package gate_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/gate"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/session"
)

// TestObserverSeesEachDecision: the observer is told the context the policy judged and the
// decision with its statement, for an allowed and a denied request; the statement's count
// moves; and listening costs the allow path no allocation.
func TestObserverSeesEachDecision(t *testing.T) {
	type seen struct {
		ctx policy.Context
		res policy.Result
	}
	var got []seen
	record := true
	observe := func(_ *http.Request, ctx policy.Context, res policy.Result) {
		if record {
			got = append(got, seen{ctx, res})
		}
	}
	set := observedPolicy(t)
	e := newEnv(t, func(o *gate.Options, _ *auth.Config, _ *auth.Deps) { o.Policy, o.Observe = set, observe })
	request := bearerRequests(e)
	if _, ok := e.Gate.Check(httptest.NewRecorder(), request("/items/42")); !ok {
		t.Fatal("refused")
	}
	if _, ok := e.Gate.Check(httptest.NewRecorder(), request("/admin/x")); ok {
		t.Fatal("allowed a virtual factor on /admin")
	}
	if len(got) != 2 || got[0].res.Decision != policy.Allowed || got[0].res.By.Sid != "Items" || got[0].ctx.UserID != "alice" ||
		got[0].ctx.Time.Sub(got[0].ctx.MFATime) != 5*time.Minute || got[0].ctx.Path != "/items/42" ||
		got[1].res.Decision != policy.ExplicitDeny || got[1].res.By.Sid != "NoKeysOnAdmin" {
		t.Fatalf("observed %+v", got)
	}
	for _, st := range set.Stats() {
		if want := map[string]uint64{"Items": 1, "NoKeysOnAdmin": 1}[st.Ref.Sid]; st.Decided != want {
			t.Errorf("%s decided %d, want %d", st.Ref.Sid, st.Decided, want)
		}
	}
	record = false
	if listening, quiet := allowAllocs(t, e), allowAllocs(t, newEnvWith(t, observedPolicy(t))); listening != quiet {
		t.Errorf("the allow path allocates %v times with an observer, %v without", listening, quiet)
	}
}

func observedPolicy(t *testing.T) *policy.Set {
	d, err := policy.Parse("p.json", []byte(`{"Statement": [
		{"Sid": "NoKeysOnAdmin", "Effect": "Deny", "Resource": "/admin/*", "Condition": {"StringNotEquals": {"mfa:Method": "webauthn"}}},
		{"Sid": "Items", "Effect": "Allow", "Action": "GET", "Resource": "/items/*", "Condition": {"Bool": {"mfa:Present": "true"}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := policy.Compile(d)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newEnvWith(t *testing.T, set *policy.Set) *env {
	return newEnv(t, func(o *gate.Options, _ *auth.Config, _ *auth.Deps) { o.Policy = set })
}

// bearerRequests makes requests signed with a token of e's, its factor five minutes old.
func bearerRequests(e *env) func(path string) *http.Request {
	now := e.Clock.Now()
	claims := session.Claims{User: "alice", Groups: []string{"dev"}, Issued: now, SignedIn: now, Expires: now.Add(time.Hour),
		MFATime: now.Add(-5 * time.Minute), Method: "virtual"}
	tok, _ := e.Ops.Ring.Sign(&claims)
	return func(path string) *http.Request {
		r := httptest.NewRequest("GET", "http://app.example.com"+path, nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		return r
	}
}

// allowAllocs is the allocations of one allowed request through e's gate.
func allowAllocs(t *testing.T, e *env) float64 {
	request := bearerRequests(e)
	rec, reqs := httptest.NewRecorder(), make([]*http.Request, 101)
	for i := range reqs {
		reqs[i] = request("/items/42")
	}
	i, refused := 0, 0
	n := testing.AllocsPerRun(100, func() {
		if _, ok := e.Gate.Check(rec, reqs[i]); !ok {
			refused++
		}
		i++
	})
	if refused > 0 {
		t.Fatalf("%d requests refused", refused)
	}
	return n
}
