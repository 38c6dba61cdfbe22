package site_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/admin"
	"github.com/caddy-mfa/caddy-mfa/gate"
	"github.com/caddy-mfa/caddy-mfa/internal/housetest"
	"github.com/caddy-mfa/caddy-mfa/policy"
)

const month = 30 * 24 * time.Hour

// rememberedEnv is an env whose site remembers browsers for 30 days, with alice enrolled; it
// returns her device's secret.
func rememberedEnv(t *testing.T, opts ...envOption) (*env, string) {
	e := newEnv(t, opts...)
	e.Remember(month)
	first := e.Client()
	first.Login("alice", testPassword)
	_, secret := first.Enrol("phone")
	return e, secret
}

// remembered is a browser of alice's that ticked "remember" with a real factor and signed out.
func (e *env) remembered(secret string) *client {
	e.T.Helper()
	c := e.Client()
	c.Login("alice", testPassword)
	e.Clock.Advance(30 * time.Second)
	r := c.Do("POST", "/.mfa/api/verify", map[string]any{"code": e.Code(secret, 0), "remember": true})
	var vr struct {
		Remembered bool   `json:"remembered"`
		CSRFToken  string `json:"csrf_token"`
	}
	r.JSON(&vr)
	if r.StatusCode != http.StatusOK || !vr.Remembered {
		e.T.Fatalf("verify with remember: %d %s", r.StatusCode, r.Body)
	}
	c.CSRF = vr.CSRFToken
	if r := c.Do("POST", "/.mfa/api/logout", nil); r.StatusCode != http.StatusOK {
		e.T.Fatalf("logout: %d", r.StatusCode)
	}
	e.Clock.Advance(time.Second)
	return c
}

// rememberCookie is the browser's remember cookie, as its jar holds it.
func (c *client) rememberCookie() *http.Cookie {
	for _, ck := range c.cookies() {
		if ck.Name == "mfa_remember" {
			return ck
		}
	}
	return nil
}

// signInMethod signs c in with alice's password and says which factor the sign-in carries.
func (c *client) signInMethod() string {
	c.e.T.Helper()
	r := c.Login("alice", testPassword)
	var lr struct {
		MFARequired bool                `json:"mfa_required"`
		MFA         *housetest.MFAState `json:"mfa"`
	}
	r.JSON(&lr)
	if r.StatusCode != http.StatusOK || (lr.MFARequired && lr.MFA != nil) {
		c.e.T.Fatalf("sign-in: %d %s", r.StatusCode, r.Body)
	}
	if lr.MFA == nil {
		return ""
	}
	return lr.MFA.Method
}

// TestARememberedBrowserSignsInWithoutACode: the cookie is what the issue asks for, the next
// password sign-in carries a factor of method remembered, the upstream is told so, and it is
// audited and counted like any factor.
func TestARememberedBrowserSignsInWithoutACode(t *testing.T) {
	m := &countingMetrics{}
	e, secret := rememberedEnv(t, withLockout(t, 3, m))
	c := e.remembered(secret)
	ck := c.rememberCookie()
	if ck == nil || len(ck.Value) != 32+1+43 {
		t.Fatalf("remember cookie %+v", ck)
	}
	passed := e.Events("factor_passed")
	if got := c.signInMethod(); got != policy.MethodRemembered {
		t.Fatalf("sign-in from a remembered browser: factor %q", got)
	}
	r := c.Do("GET", "/app", nil)
	var seen map[string]string
	r.JSON(&seen)
	if r.StatusCode != http.StatusOK || seen["X-Mfa-Method"] != "remembered" || seen["X-Mfa-Present"] != "true" || seen["X-Mfa-Age"] != "0" {
		t.Fatalf("the upstream: %d %v", r.StatusCode, seen)
	}
	if e.Events("factor_passed") != passed+1 || m.get("remembered/success") != 1 {
		t.Fatalf("audit %d -> %d, metric %d", passed, e.Events("factor_passed"), m.get("remembered/success"))
	}
	if c.mfaOf().Method != "remembered" {
		t.Fatalf("whoami: %+v", c.mfaOf())
	}
	// Never without the password.
	if r := c.Login("alice", "wrong"); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a wrong password with a remembered browser: %d", r.StatusCode)
	}
}

// TestRememberCookieAttributes: HttpOnly, SameSite=Strict, Path=/, lives as long as the
// option, and is not Secure on plain HTTP (the __Host- form on HTTPS is session's test).
func TestRememberCookieAttributes(t *testing.T) {
	e, secret := rememberedEnv(t)
	c := e.Client()
	c.Login("alice", testPassword)
	e.Clock.Advance(30 * time.Second)
	r := c.Do("POST", "/.mfa/api/verify", map[string]any{"code": e.Code(secret, 0), "remember": true})
	var set string
	for _, line := range r.Header.Values("Set-Cookie") {
		if strings.HasPrefix(line, "mfa_remember=") {
			set = line
		}
	}
	for _, want := range []string{"Path=/", "Max-Age=2592000", "HttpOnly", "SameSite=Strict"} {
		if !strings.Contains(set, want) {
			t.Errorf("Set-Cookie %q lacks %s", set, want)
		}
	}
	if strings.Contains(set, "Secure") {
		t.Errorf("Set-Cookie %q is Secure on plain HTTP", set)
	}
}

// TestRememberedCredentialsThatDoNotPass: what a thief or a stale browser holds signs in with
// the password alone, and the verify page follows.
func TestRememberedCredentialsThatDoNotPass(t *testing.T) {
	ops := func(e *env) http.Handler { return admin.New(e.Ops) }
	cases := []struct {
		name string
		do   func(e *env, c *client, secret string)
	}{
		{"expired", func(e *env, _ *client, _ string) { e.Clock.Advance(month) }},
		{"altered", func(e *env, c *client, _ string) {
			ck := c.rememberCookie()
			ck.Value = ck.Value[:len(ck.Value)-3] + "AAA"
			c.HTTP.Jar.SetCookies(housetest.MustURL(e.Server.URL), []*http.Cookie{ck})
		}},
		{"another user's", func(e *env, c *client, _ string) {
			// bob's own remembered cookie, presented with alice's password.
			b := e.Client()
			b.Login("bob", testPassword)
			_, bs := b.Enrol("bob-phone")
			e.Clock.Advance(30 * time.Second)
			b.Do("POST", "/.mfa/api/verify", map[string]any{"code": e.Code(bs, 0), "remember": true})
			c.HTTP.Jar.SetCookies(housetest.MustURL(e.Server.URL), []*http.Cookie{b.rememberCookie()})
		}},
		{"forgotten by the user", func(e *env, c *client, secret string) {
			other := e.browser("Other/1", secret)
			list := other.remembered()
			if r := other.Do("DELETE", "/.mfa/api/remembered/"+list[0].ID, nil); r.StatusCode != http.StatusOK {
				e.T.Fatalf("forget: %d %s", r.StatusCode, r.Body)
			}
		}},
		{"reset", func(e *env, _ *client, _ string) {
			housetest.AdminCall(e.T.(*testing.T), ops(e), "POST", "/mfa/users/alice/reset", nil)
		}},
		{"revoke-sessions", func(e *env, _ *client, _ string) {
			housetest.AdminCall(e.T.(*testing.T), ops(e), "POST", "/mfa/users/alice/revoke-sessions", nil)
		}},
		{"device deactivated", func(e *env, _ *client, secret string) {
			other := e.browser("Other/1", secret)
			serial := e.serialOf("alice")
			if r := other.Do("POST", "/.mfa/api/devices/"+serial+"/deactivate", nil); r.StatusCode != http.StatusOK {
				e.T.Fatalf("deactivate: %d %s", r.StatusCode, r.Body)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, secret := rememberedEnv(t)
			c := e.remembered(secret)
			tc.do(e, c, secret)
			e.Clock.Advance(time.Second)
			if got := c.signInMethod(); got != "" {
				t.Fatalf("signed in with factor %q", got)
			}
			if r := c.Do("GET", "/app", nil, "Accept", "text/html"); r.StatusCode != http.StatusFound {
				t.Fatalf("the app without a factor: %d", r.StatusCode)
			}
		})
	}
}

// serialOf is the serial of user's one device.
func (e *env) serialOf(user string) string {
	ds, err := e.Ops.Devices.ForUser(e.T.Context(), user)
	if err != nil || len(ds) == 0 {
		e.T.Fatalf("devices of %s: %v", user, err)
	}
	return ds[0].Serial
}

type rememberedView struct {
	ID        string    `json:"id"`
	FirstUsed time.Time `json:"first_used"`
	LastUsed  time.Time `json:"last_used"`
	SourceIP  string    `json:"source_ip"`
	UserAgent string    `json:"user_agent"`
	Current   bool      `json:"current"`
}

func (c *client) remembered() []rememberedView {
	return listAt[rememberedView](c, "/.mfa/api/remembered")
}

// TestPoliciesCanRefuseARememberedBrowser: a route that refuses the method, or asks for a
// phishing-resistant factor, challenges for a real factor, and the verify page meets it.
func TestPoliciesCanRefuseARememberedBrowser(t *testing.T) {
	e, secret := rememberedEnv(t)
	doc, err := policy.Parse("remembered.json", []byte(`{"Statement": [
	{"Sid": "Members", "Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": {"mfa:Present": "true"}}},
	{"Sid": "NotRemembered", "Effect": "Deny", "Action": "*", "Resource": "/admin/*", "Condition": {"StringEquals": {"mfa:Method": "remembered"}}},
	{"Sid": "KeysOnly", "Effect": "Deny", "Action": "*", "Resource": "/keys/*", "Condition": {"Bool": {"mfa:PhishingResistant": "false"}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	set, _ := policy.Compile(doc)
	e.Policy = set
	e.Gate = e.NewGate(gate.Options{Policy: set})
	c := e.remembered(secret)
	if c.signInMethod() != "remembered" {
		t.Fatal("not remembered")
	}
	for path, want := range map[string]string{"/app": "", "/admin/x": "MultiFactorAuthenticationRequired", "/keys/x": "MultiFactorAuthenticationRequired"} {
		r := c.Do("GET", path, nil)
		if r.ErrorCode() != want || (want != "" && strings.Contains(r.Header.Get("WWW-Authenticate"), "remembered")) {
			t.Errorf("%s with a remembered browser: %d %s %q", path, r.StatusCode, r.Body, r.Header.Get("WWW-Authenticate"))
		}
	}
	if r := c.Do("GET", "/admin/x", nil, "Accept", "text/html"); r.StatusCode != http.StatusFound || !strings.Contains(r.Header.Get("Location"), "/.mfa/verify") {
		t.Fatalf("a page: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	c.stepUp(secret)
	if r := c.Do("GET", "/admin/x", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("after a real factor: %d %s", r.StatusCode, r.Body)
	}
	// The methods shortcut without remembered refuses it as well.
	short, _ := policy.Compile(policy.Shortcuts{RequireMFA: true, Methods: []string{"virtual"}}.Document(true))
	e.Gate = e.NewGate(gate.Options{Policy: short})
	d := e.remembered(secret)
	d.signInMethod()
	if r := d.Do("GET", "/app", nil); r.ErrorCode() != "MultiFactorAuthenticationRequired" || !strings.Contains(r.Header.Get("WWW-Authenticate"), "(virtual)") {
		t.Fatalf("methods virtual: %d %s %q", r.StatusCode, r.Body, r.Header.Get("WWW-Authenticate"))
	}
}

// TestRememberIsOffByDefault: no checkbox, and asking for it is refused before the code is
// looked at, so the same code still passes.
func TestRememberIsOffByDefault(t *testing.T) {
	e := newEnv(t)
	c := e.Client()
	c.Login("alice", testPassword)
	_, secret := c.Enrol("phone")
	e.Clock.Advance(30 * time.Second)
	if page := c.Do("GET", "/.mfa/verify", nil); strings.Contains(string(page.Body), `name="remember"`) {
		t.Fatal("the verify page offers to remember with the option off")
	}
	code := e.Code(secret, 0)
	if r := c.Do("POST", "/.mfa/api/verify", map[string]any{"code": code, "remember": true}); r.StatusCode != http.StatusBadRequest || r.ErrorCode() != "InvalidInput" {
		t.Fatalf("remember with the option off: %d %s", r.StatusCode, r.Body)
	}
	if r := c.Do("POST", "/.mfa/api/verify", map[string]any{"code": code}); r.StatusCode != http.StatusOK {
		t.Fatalf("the same code afterwards: %d %s", r.StatusCode, r.Body)
	}
}

// TestTheVerifyPageRemembersAndTheDevicesPageForgets: the pages' way, with the browser's own
// entry marked, and forgetting it deleting its cookie.
func TestTheVerifyPageRemembersAndTheDevicesPageForgets(t *testing.T) {
	e, secret := rememberedEnv(t)
	c := e.Client()
	c.Header = http.Header{"User-Agent": {"Laptop/1.0"}}
	c.Login("alice", testPassword)
	page := c.Do("GET", "/.mfa/verify", nil)
	if !strings.Contains(string(page.Body), "Remember this browser for 30 days") {
		t.Fatalf("no checkbox: %s", page.Body)
	}
	e.Clock.Advance(30 * time.Second)
	form := url.Values{"csrf_token": {c.CSRF}, "code": {e.Code(secret, 0)}, "remember": {"1"}, "return": {"/app"}}
	if r := c.Do("POST", "/.mfa/verify", form); r.StatusCode != http.StatusSeeOther || c.rememberCookie() == nil {
		t.Fatalf("verify form: %d, cookie %v", r.StatusCode, c.rememberCookie())
	}
	c.CSRF = ""
	var who housetest.WhoAmI
	c.Do("GET", "/.mfa/api/whoami", nil).JSON(&who)
	c.CSRF = who.CSRFToken
	list := c.remembered()
	if len(list) != 1 || !list[0].Current || list[0].UserAgent != "Laptop/1.0" || list[0].SourceIP != "127.0.0.1" || list[0].FirstUsed.IsZero() {
		t.Fatalf("list: %+v", list)
	}
	devices := c.Do("GET", "/.mfa/devices", nil)
	if !strings.Contains(string(devices.Body), "Remembered browsers") || !strings.Contains(string(devices.Body), "/remembered/"+list[0].ID+"/forget") {
		t.Fatalf("devices page: %s", devices.Body)
	}
	// bob cannot forget it, and a made-up id is nobody's.
	b := e.Client()
	b.Login("bob", testPassword)
	for _, id := range []string{list[0].ID, strings.Repeat("ab", 16), "nope"} {
		if r := b.Do("DELETE", "/.mfa/api/remembered/"+id, nil); r.StatusCode != http.StatusNotFound {
			t.Errorf("bob forgets %q: %d %s", id, r.StatusCode, r.Body)
		}
	}
	if r := c.Do("DELETE", "/.mfa/api/remembered/"+list[0].ID, nil, "X-CSRF-Token", "wrong"); r.StatusCode != http.StatusForbidden {
		t.Fatalf("forget without CSRF: %d", r.StatusCode)
	}
	r := c.Do("POST", "/.mfa/remembered/"+list[0].ID+"/forget", url.Values{"csrf_token": {c.CSRF}})
	if r.StatusCode != http.StatusOK || c.rememberCookie() != nil || len(c.remembered()) != 0 {
		t.Fatalf("forget form: %d, cookie %v", r.StatusCode, c.rememberCookie())
	}
}

// TestParallelSignInsWithOneRememberCookie: copies of one cookie signing in at once all pass
// (it is the browser's, not single use) and the record survives whole.
func TestParallelSignInsWithOneRememberCookie(t *testing.T) {
	e, secret := rememberedEnv(t)
	ck := e.remembered(secret).rememberCookie()
	const n = 8
	methods := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		c := e.with([]*http.Cookie{ck}, "")
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := c.send("POST", "/.mfa/api/login", map[string]string{"username": "alice", "password": testPassword})
			if err != nil || r.StatusCode != http.StatusOK {
				return
			}
			var lr struct {
				MFA *housetest.MFAState `json:"mfa"`
			}
			r.JSON(&lr)
			if lr.MFA != nil {
				methods[i] = lr.MFA.Method
			}
		}()
	}
	wg.Wait()
	for i, m := range methods {
		if m != "remembered" {
			t.Errorf("sign-in %d: factor %q", i, m)
		}
	}
	if list, err := e.Ops.RememberedBrowsers(t.Context(), "alice"); err != nil || len(list) != 1 {
		t.Fatalf("records after parallel use: %d %v", len(list), err)
	}
}
