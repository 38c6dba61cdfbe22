package site_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/gate"
	"github.com/caddy-mfa/caddy-mfa/internal/housetest"
	"github.com/caddy-mfa/caddy-mfa/session"
	"github.com/caddy-mfa/caddy-mfa/web"
)

// TestExternalNamesCreateNoRecords: names an earlier handler passes cost no storage until the
// user enrols, however many arrive on pages, whoami and the gate.
func TestExternalNamesCreateNoRecords(t *testing.T) {
	e := newEnv(t, func(o *gate.Options, _ *auth.Config, _ *auth.Deps) {
		o.Identity = func(r *http.Request) string { return r.Header.Get("Remote-User") }
	})
	before, err := e.Ops.Users.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		name := "sprayed" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + string(rune('a'+i/26))
		c := e.Client()
		for _, path := range []string{"/.mfa/api/whoami", "/.mfa/devices", "/.mfa/verify", "/app", "/.mfa/api/devices"} {
			if r := c.Do("GET", path, nil, "Remote-User", name); r.StatusCode >= 500 {
				t.Fatalf("%s as %s: %d %s", path, name, r.StatusCode, r.Body)
			}
		}
	}
	after, err := e.Ops.Users.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("%d user records before, %d after 50 unseen names looked around", len(before), len(after))
	}
}

// TestAPICredentialsCannotChangeHowTheUserSignsIn: an MFA session token (or an access key)
// may not remove a device (a password alone would then enrol a new first one), nor mint
// recovery codes or access keys that outlive it: those calls are a browser session's.
func TestAPICredentialsCannotChangeHowTheUserSignsIn(t *testing.T) {
	e := newEnv(t)
	c := e.Client()
	c.Login("alice", testPassword)
	serial, _ := c.Enrol("phone")
	now := e.Clock.Now()
	claims := session.Claims{User: "alice", Issued: now, SignedIn: now, Expires: now.Add(time.Hour), MFATime: now, Method: "virtual", Serial: serial}
	token, err := e.Ops.Ring.Sign(&claims)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/.mfa/api/devices/" + serial + "/deactivate", "/.mfa/api/recovery-codes", "/.mfa/api/access-keys"} {
		if r := e.Client().Do("POST", path, nil, "Authorization", "Bearer "+token); r.StatusCode != http.StatusForbidden || r.ErrorCode() != auth.CodeAccessDenied {
			t.Errorf("%s with an MFA session token: %d %s", path, r.StatusCode, r.Body)
		}
	}
	var devices []map[string]any
	c.Do("GET", "/.mfa/api/devices", nil).JSON(&devices)
	if len(devices) != 1 {
		t.Fatalf("the device is gone: %v", devices)
	}
	// The browser session that passed the factor still may.
	if r := c.Do("POST", "/.mfa/api/recovery-codes", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("recovery codes from the browser: %d %s", r.StatusCode, r.Body)
	}
}

// TestLocalAndEarlierHandlerSignInsStayApart: a name an earlier handler vouches for is not the
// local user of that name, and a cookie of one kind of sign-in signs nobody in on a site of the
// other kind.
func TestLocalAndEarlierHandlerSignInsStayApart(t *testing.T) {
	e := newEnv(t) // the local-login site; alice signs in there with a password
	external := e.NewGate(gate.Options{Mount: web.Mount{Identity: func(r *http.Request) string { return r.Header.Get("Remote-User") }}})
	ext := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := external.Serve(w, r); ok {
			w.WriteHeader(http.StatusOK)
		}
	}))
	defer ext.Close()
	get := func(base, path string, header ...string) *http.Response {
		req, _ := http.NewRequest("GET", base+path, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	// An earlier handler's "alice" is refused: the name signs in here with a password.
	if resp := get(ext.URL, "/.mfa/api/whoami", "Remote-User", "alice"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("an earlier handler's alice: %d", resp.StatusCode)
	}
	// carol, vouched for by the earlier handler, gets a cookie there; it is nobody on the local site.
	resp := get(ext.URL, "/.mfa/api/whoami", "Remote-User", "carol")
	var carolCookie string
	for _, c := range resp.Cookies() {
		carolCookie = c.Name + "=" + c.Value
	}
	if resp.StatusCode != http.StatusOK || carolCookie == "" {
		t.Fatalf("carol's whoami: %d", resp.StatusCode)
	}
	var who housetest.WhoAmI
	e.Client().Do("GET", "/.mfa/api/whoami", nil, "Cookie", carolCookie).JSON(&who)
	if who.User != "" || who.AuthType != "anonymous" {
		t.Errorf("carol's earlier-handler cookie on the local site: %+v", who)
	}
	// alice's local cookie is nobody on the earlier handler's site.
	c := e.Client()
	c.Login("alice", testPassword)
	u, _ := url.Parse(e.Server.URL)
	var local string
	for _, ck := range c.HTTP.Jar.Cookies(u) {
		local = ck.Name + "=" + ck.Value
	}
	if resp := get(ext.URL, "/.mfa/api/whoami", "Cookie", local); resp.StatusCode != http.StatusOK {
		t.Fatalf("whoami with alice's local cookie: %d", resp.StatusCode)
	}
	if resp := get(ext.URL, "/app", "Cookie", local); resp.StatusCode == http.StatusOK {
		t.Errorf("alice's local cookie passed the earlier handler's site")
	}
}

// TestEarlierHandlerUsersMakeNoAccessKeys: an access key made on an identity-mode site would be
// good on a local-login site, where nobody vouched for the name.
func TestEarlierHandlerUsersMakeNoAccessKeys(t *testing.T) {
	e := newEnv(t, func(o *gate.Options, _ *auth.Config, _ *auth.Deps) {
		o.Identity = func(r *http.Request) string { return r.Header.Get("Remote-User") }
	})
	c := e.Client()
	var w housetest.WhoAmI
	c.Do("GET", "/.mfa/api/whoami", nil, "Remote-User", "zed").JSON(&w)
	c.CSRF = w.CSRFToken
	r := c.Do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "phone"}, "Remote-User", "zed")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("create: %d %s", r.StatusCode, r.Body)
	}
	var cv web.VirtualDevice
	r.JSON(&cv)
	if r = c.Do("POST", "/.mfa/api/devices/"+cv.Serial+"/enable", housetest.Pair(e.Code(cv.Secret, -1), e.Code(cv.Secret, 0)), "Remote-User", "zed"); r.StatusCode != http.StatusOK {
		t.Fatalf("enable: %d %s", r.StatusCode, r.Body)
	}
	var enabled struct {
		CSRFToken string `json:"csrf_token"`
	}
	r.JSON(&enabled)
	c.CSRF = enabled.CSRFToken
	if r := c.Do("POST", "/.mfa/api/access-keys", nil, "Remote-User", "zed"); r.StatusCode != http.StatusForbidden || r.ErrorCode() != auth.CodeAccessDenied {
		t.Fatalf("an earlier handler's user made an access key: %d %s", r.StatusCode, r.Body)
	}
}
