package site_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/web"
)

// TestStateChangesFromAnotherSiteAreRefused: whatever a browser says of where a state change
// came from (Sec-Fetch-Site, or Origin where it sends no Sec-Fetch-Site), another site's request
// is refused before any handler runs: with SPEC's JSON body on the API, with a page on the
// forms. Login CSRF included: no session cookie comes back.
func TestStateChangesFromAnotherSiteAreRefused(t *testing.T) {
	e := newEnv(t)
	host := strings.TrimPrefix(e.Server.URL, "http://")
	foreign := [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
		{"Sec-Fetch-Site", "cross-site", "Origin", e.Server.URL},
		{"Origin", "https://evil.example"},
		{"Origin", "http://evil.example"},
		{"Origin", "null"},
		{"Origin", "http://" + host + ".evil.example"},
		{"Origin", "http://evil.example:" + strings.Split(host, ":")[1]},
	}
	calls := []struct{ method, path, body string }{
		{"POST", "/.mfa/api/login", `{"username":"alice","password":"` + testPassword + `"}`},
		{"POST", "/.mfa/api/logout", ""},
		{"POST", "/.mfa/api/passkey/begin", ""},
		{"POST", "/.mfa/api/passkey/finish", `{"id":"AAAA"}`},
		{"POST", "/.mfa/api/devices/virtual", `{"name":"x"}`},
		{"DELETE", "/.mfa/api/access-keys/MKIAAAAAAAAAAAAAAAAA", ""},
		{"PUT", "/.mfa/api/verify", `{"code":"123456"}`},
		{"PATCH", "/.mfa/api/recovery-codes", ""},
		{"POST", "/.mfa/login", "username=alice&password=" + testPassword},
		{"POST", "/.mfa/logout", ""},
	}
	for _, call := range calls {
		for _, headers := range foreign {
			c := e.Client()
			req := c.Request(call.method, call.path, call.body, headers...)
			if strings.HasPrefix(call.body, "username=") {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			r, err := c.Send(req)
			if err != nil {
				t.Fatal(err)
			}
			if r.StatusCode != http.StatusForbidden || len(r.Cookies()) != 0 {
				t.Errorf("%s %s with %v: %d, %d cookies", call.method, call.path, headers, r.StatusCode, len(r.Cookies()))
				continue
			}
			if strings.Contains(call.path, "/api/") {
				var body web.ErrorBody
				if err := json.Unmarshal(r.Body, &body); err != nil || body.Error.Code != auth.CodeAccessDenied || r.Header.Get("Content-Type") != "application/json" {
					t.Errorf("%s %s with %v: %q %s, want SPEC's AccessDenied body", call.method, call.path, headers, r.Header.Get("Content-Type"), r.Body)
				}
			} else if !strings.Contains(r.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(r.Body), "another site") {
				t.Errorf("%s %s with %v: %q %s, want the status page", call.method, call.path, headers, r.Header.Get("Content-Type"), r.Body)
			}
		}
	}
	// The gateway's own pages, a browser saying so, and a client that says nothing pass.
	for _, headers := range [][]string{{"Sec-Fetch-Site", "same-origin"}, {"Sec-Fetch-Site", "none"}, {"Origin", e.Server.URL}, nil} {
		if r := e.Client().Do("POST", "/.mfa/api/login", map[string]string{"username": "alice", "password": testPassword}, headers...); r.StatusCode != http.StatusOK {
			t.Errorf("sign-in with %v: %d %s", headers, r.StatusCode, r.Body)
		}
	}
}
