package site_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddy-mfa/caddy-mfa/internal/housetest"
)

// FuzzSiteAPI sends arbitrary bodies to the site's JSON endpoints as a signed-in user: every
// answer must be a deliberate one (never a 500), and nothing may panic.
func FuzzSiteAPI(f *testing.F) {
	e := newEnv(f)
	c := e.Client()
	c.Login("alice", testPassword)
	cookies := c.HTTP.Jar.Cookies(housetest.MustURL(e.Server.URL))
	paths := []string{"/.mfa/api/login", "/.mfa/api/verify", "/.mfa/api/devices/virtual", "/.mfa/api/devices/caddy-mfa:alice:phone/enable",
		"/.mfa/api/session-token", "/.mfa/api/recovery-codes", "/.mfa/api/devices/sms", "/.mfa/api/webauthn/register/finish"}
	f.Add(uint8(0), []byte(`{"username":"alice","password":"x"}`))
	f.Add(uint8(1), []byte(`{"code":"123456","serial":"caddy-mfa:alice:phone"}`))
	f.Add(uint8(2), []byte(`{"name":"phone"}`))
	f.Add(uint8(3), []byte(`{"code1":"123456","code2":"654321"}`))
	f.Add(uint8(4), []byte(`{"duration_seconds":900}`))
	f.Add(uint8(7), []byte(`{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{}}`))
	f.Add(uint8(1), []byte(`{"code": 5}`))
	f.Add(uint8(2), []byte(`[`))
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		req := httptest.NewRequest("POST", paths[int(which)%len(paths)], bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", c.CSRF)
		for _, ck := range cookies {
			req.AddCookie(ck)
		}
		w := httptest.NewRecorder()
		e.Gate.Serve(w, req)
		if w.Code >= 500 && w.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s %q: %d %s", req.URL.Path, body, w.Code, w.Body)
		}
	})
}
