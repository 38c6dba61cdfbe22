package gate_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/gate"
	"github.com/caddy-mfa/caddy-mfa/web"
)

// signInAnswer is a 401's body as a page's script reads it.
type signInAnswer struct {
	web.ErrorBody
	LoginURL string `json:"login_url"`
}

// TestScriptsGetNoBasicChallenge: a signed-out page's fetch() to a gated route, or to the
// site's API, gets a 401 that no browser draws a password dialog for, with the sign-in page's
// address; a navigation and an API client (curl) keep the Basic challenge.
func TestScriptsGetNoBasicChallenge(t *testing.T) {
	e := newEnv(t)
	base := e.Server.URL
	scripts := [][]string{
		{"Sec-Fetch-Mode", "cors"}, {"Sec-Fetch-Mode", "no-cors"}, {"Sec-Fetch-Mode", "same-origin"},
		{"Sec-Fetch-Mode", "websocket"}, {"X-Requested-With", "XMLHttpRequest"},
		{"Sec-Fetch-Mode", "cors", "Referer", base + "/dashboard?tab=2"},
		{"Sec-Fetch-Mode", "cors", "Referer", "https://evil.example/x"},
		{"Sec-Fetch-Mode", "cors", "Authorization", "Bearer not-a-token"},
		{"Sec-Fetch-Mode", "cors", "Authorization", "Basic " + "bm9wZTpub3Bl"},
	}
	for _, path := range []string{"/api/items", "/app", "/.mfa/api/devices", "/.mfa/api/access-keys"} {
		for _, headers := range scripts {
			r := e.Client().Do("GET", path, nil, headers...)
			var body signInAnswer
			_ = json.Unmarshal(r.Body, &body)
			challenges := strings.Join(r.Header.Values("Www-Authenticate"), " | ")
			if r.StatusCode != http.StatusUnauthorized || strings.Contains(challenges, "Basic realm") || challenges == "" ||
				body.Error.Code != auth.CodeAuthRequired || !strings.HasPrefix(body.LoginURL, "/.mfa/login?return=") {
				t.Errorf("%s with %v: %d, challenges %q, body %s", path, headers, r.StatusCode, challenges, r.Body)
			}
			want := "/.mfa/login?return=%2F"
			if len(headers) > 2 && headers[2] == "Referer" && strings.HasPrefix(headers[3], base) {
				want = "/.mfa/login?return=%2Fdashboard%3Ftab%3D2"
			}
			if body.LoginURL != want {
				t.Errorf("%s with %v: login_url %q, want %q", path, headers, body.LoginURL, want)
			}
		}
	}
	for _, headers := range [][]string{nil, {"Sec-Fetch-Mode", "navigate"}, {"Accept", "application/json"}} {
		r := e.Client().Do("GET", "/api/items", nil, headers...)
		if r.StatusCode != http.StatusUnauthorized || r.Header.Get("Www-Authenticate") != `Basic realm="caddy-mfa"` {
			t.Errorf("an API client with %v: %d %q", headers, r.StatusCode, r.Header.Values("Www-Authenticate"))
		}
	}
}

// TestScriptsBehindAnEarlierSignInGetNoLoginURL: where an earlier handler signs users in, the
// gate has no sign-in page to point a script to.
func TestScriptsBehindAnEarlierSignInGetNoLoginURL(t *testing.T) {
	e := newEnv(t, func(o *gate.Options, _ *auth.Config, _ *auth.Deps) {
		o.Identity = func(r *http.Request) string { return r.Header.Get("Remote-User") }
	})
	r := e.Client().Do("GET", "/app", nil, "Sec-Fetch-Mode", "cors")
	var body signInAnswer
	_ = json.Unmarshal(r.Body, &body)
	if r.StatusCode != http.StatusUnauthorized || strings.Contains(r.Header.Get("Www-Authenticate"), "Basic realm") || body.LoginURL != "" {
		t.Fatalf("%d %q %s", r.StatusCode, r.Header.Values("Www-Authenticate"), r.Body)
	}
}
