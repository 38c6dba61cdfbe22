package gate_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// TestIdentityHeaderValuesBelongToOneRequest: a handler after the gate may write into a header's
// values in place (Caddy's `request_header` with a search and replace does), so no two requests
// may share the memory of a value: what one request's handler rewrites must never reach another
// request, also when many requests are in flight at once (run with -race).
func TestIdentityHeaderValuesBelongToOneRequest(t *testing.T) {
	e := walkEnv(t)
	token, cookie := memberCredentials(t, e)
	credentials := map[string][]string{
		"anonymous": nil,
		"token":     {"Authorization", "Bearer " + token},
		"cookie":    {"Cookie", cookie},
	}
	names := []string{"X-Mfa-User", "X-Mfa-Groups", "X-Mfa-Auth-Type", "X-Mfa-Present", "X-Mfa-Age", "X-Mfa-Method"}
	for kind, cred := range credentials {
		want := allowedHeaders(t, e, cred, names)
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 20 {
					got := allowedHeaders(t, e, cred, names)
					for _, name := range names {
						if got.Get(name) != want.Get(name) {
							t.Errorf("%s: %s %q, want %q: another request's rewrite reached it", kind, name, got.Get(name), want.Get(name))
						}
					}
				}
			}()
		}
		wg.Wait()
	}
}

// allowedHeaders passes one request with cred through the gate to /members/ or /public/ and
// returns a copy of the identity headers it set, after overwriting every value in place as a
// later handler may.
func allowedHeaders(t *testing.T, e *env, cred []string, names []string) http.Header {
	path := "http://app.example.com/public/a"
	if cred != nil {
		path = "http://app.example.com/members/a"
	}
	r := httptest.NewRequest("GET", path, nil)
	if cred != nil {
		r.Header.Set(cred[0], cred[1])
	}
	if _, ok := e.Gate.Check(httptest.NewRecorder(), r); !ok {
		t.Errorf("%s: refused", path)
		return nil
	}
	seen := http.Header{}
	for _, name := range names {
		for i, v := range r.Header[name] {
			seen.Add(name, v)
			r.Header[name][i] = "rewritten"
		}
	}
	return seen
}
