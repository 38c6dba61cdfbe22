package web

import (
	"net/http"
	"testing"
)

// TestAuthorizationReadsAsHeaderGet: the direct map read gives what Header.Get gives, for
// every shape a request's Authorization can take, a spelling no handler canonicalised included.
func TestAuthorizationReadsAsHeaderGet(t *testing.T) {
	for _, h := range []http.Header{
		nil,
		{},
		{"Authorization": nil},
		{"Authorization": {}},
		{"Authorization": {""}},
		{"Authorization": {"Bearer a"}},
		{"Authorization": {"", "Bearer a"}},
		{"Authorization": {"Bearer a", "Bearer b"}},
		{"authorization": {"Bearer a"}},
		{"AUTHORIZATION": {"Bearer a"}},
		{"Proxy-Authorization": {"Bearer a"}},
		{"Authorization ": {"Bearer a"}},
	} {
		if got, want := authorization(h), h.Get("Authorization"); got != want {
			t.Errorf("%v: %q, Header.Get %q", h, got, want)
		}
	}
}
