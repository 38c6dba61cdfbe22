package gateway

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/session"
)

func TestAnonymousIsChallengedToSignIn(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	r := c.do("GET", "/app/page?x=1", nil, "Accept", "text/html")
	if r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/.mfa/login?return=%2Fapp%2Fpage%3Fx%3D1" {
		t.Fatalf("browser: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	r = c.do("GET", "/app/page", nil)
	if r.StatusCode != http.StatusUnauthorized || r.errorCode() != CodeAuthRequired || r.Header.Get("WWW-Authenticate") != `Basic realm="caddy-mfa"` {
		t.Fatalf("API client: %d %s %q", r.StatusCode, r.body, r.Header.Get("WWW-Authenticate"))
	}
	r = c.do("POST", "/app/page", nil, "Accept", "text/html")
	if r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a browser POST is not redirected: %d", r.StatusCode)
	}
}

func TestWholeFlowEnrolThenVerify(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	r := c.login("alice", testPassword)
	var lr loginResponse
	r.json(&lr)
	if r.StatusCode != http.StatusOK || !lr.EnrollmentRequired || lr.MFARequired || lr.CSRFToken == "" {
		t.Fatalf("login: %d %s", r.StatusCode, r.body)
	}
	// Enrolment only: the app is out of reach, the enrolment pages are not.
	if r := c.do("GET", "/app", nil, "Accept", "text/html"); r.StatusCode != http.StatusFound || !strings.HasPrefix(r.Header.Get("Location"), "/.mfa/devices?return=") {
		t.Fatalf("enrolling browser: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := c.do("GET", "/app", nil); r.StatusCode != http.StatusUnauthorized || r.errorCode() != CodeMFARequired {
		t.Fatalf("enrolling API client: %d %s", r.StatusCode, r.body)
	}
	serial, secret := c.enrol("phone")
	if e.events("device_created") != 1 || e.events("device_enabled") != 1 {
		t.Fatal("enrolment was not audited")
	}
	// Enabling proved the device: the session carries the factor.
	r = c.do("GET", "/app", nil, "X-MFA-User", "mallory", "X-Mfa-Present", "true", "X-MFA-Admin", "yes")
	var h map[string]string
	r.json(&h)
	if r.StatusCode != http.StatusOK || h["X-Mfa-User"] != "alice" || h["X-Mfa-Present"] != "true" || h["X-Mfa-Method"] != "virtual" ||
		h["X-Mfa-Auth-Type"] != "session" || h["X-Mfa-Groups"] != "dev" || h["X-Mfa-Admin"] != "" {
		t.Fatalf("upstream saw %d %v", r.StatusCode, h)
	}

	// A new sign-in must pass a factor.
	c2 := e.client()
	r = c2.login("alice", testPassword)
	r.json(&lr)
	if !lr.MFARequired || lr.EnrollmentRequired {
		t.Fatalf("second login: %s", r.body)
	}
	if r := c2.do("GET", "/app", nil, "Accept", "text/html"); r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/.mfa/verify?return=%2Fapp" {
		t.Fatalf("signed in without MFA: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	r = c2.do("GET", "/app", nil)
	if r.StatusCode != http.StatusUnauthorized || r.errorCode() != CodeMFARequired ||
		!strings.HasPrefix(r.Header.Get("WWW-Authenticate"), `Bearer error="insufficient_user_authentication"`) {
		t.Fatalf("API without MFA: %d %s %q", r.StatusCode, r.body, r.Header.Get("WWW-Authenticate"))
	}
	// The code enable spent is refused; the next step's code passes, once.
	if r := c2.do("POST", "/.mfa/api/verify", verifyRequest{Code: e.code(secret, 0)}); r.StatusCode != http.StatusForbidden || r.errorCode() != CodeInvalidAuthCode {
		t.Fatalf("replayed code: %d %s", r.StatusCode, r.body)
	}
	e.clock.advance(30 * time.Second)
	r = c2.do("POST", "/.mfa/api/verify", verifyRequest{Serial: serial, Code: e.code(secret, 0)})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("verify: %d %s", r.StatusCode, r.body)
	}
	var vr struct {
		MFA       mfaState `json:"mfa"`
		CSRFToken string   `json:"csrf_token"`
	}
	r.json(&vr)
	c2.csrf = vr.CSRFToken
	if !vr.MFA.Present || vr.MFA.Method != "virtual" || vr.MFA.Serial != serial {
		t.Fatalf("verify answered %s", r.body)
	}
	if r := c2.do("GET", "/app", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("after verify: %d %s", r.StatusCode, r.body)
	}
	if e.events("code_replayed") != 1 || e.events("factor_passed") != 1 || e.events("factor_failed") != 1 {
		t.Fatalf("audit: replayed %d passed %d failed %d", e.events("code_replayed"), e.events("factor_passed"), e.events("factor_failed"))
	}
}

func TestLockoutAcrossSessions(t *testing.T) {
	e := newEnv(t)
	a := e.client()
	a.login("alice", testPassword)
	_, secret := a.enrol("phone")
	e.clock.advance(time.Minute)
	b, c := e.client(), e.client()
	b.login("alice", testPassword)
	c.login("alice", testPassword)
	for _, cl := range []*client{b, c, b} { // three failures in two sessions: max_failures 3
		if r := cl.do("POST", "/.mfa/api/verify", verifyRequest{Code: "000000"}); r.StatusCode != http.StatusForbidden {
			t.Fatalf("wrong code: %d %s", r.StatusCode, r.body)
		}
	}
	r := c.do("POST", "/.mfa/api/verify", verifyRequest{Code: e.code(secret, 0)})
	if r.StatusCode != http.StatusTooManyRequests || r.errorCode() != CodeThrottled || r.Header.Get("Retry-After") != "30" {
		t.Fatalf("a right code while locked: %d %s Retry-After %q", r.StatusCode, r.body, r.Header.Get("Retry-After"))
	}
	if e.events("user_locked") != 1 {
		t.Fatal("the lock was not audited")
	}
	e.clock.advance(31 * time.Second)
	if r := c.do("POST", "/.mfa/api/verify", verifyRequest{Code: e.code(secret, 0)}); r.StatusCode != http.StatusOK {
		t.Fatalf("after the lock: %d %s", r.StatusCode, r.body)
	}
}

func TestUnknownUserAndWrongPasswordLookAlike(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	unknown := c.login("nobody", testPassword)
	wrong := c.login("alice", "wrong password")
	if unknown.StatusCode != wrong.StatusCode || string(unknown.body) != string(wrong.body) || unknown.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unknown user %d %s; wrong password %d %s", unknown.StatusCode, unknown.body, wrong.StatusCode, wrong.body)
	}
	if len(unknown.Cookies()) != 0 || len(wrong.Cookies()) != 0 {
		t.Fatal("a failed sign-in set a cookie")
	}
}

func TestCSRFAndCrossOrigin(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.login("alice", testPassword)
	good := c.csrf
	c.csrf = ""
	if r := c.do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "phone"}); r.StatusCode != http.StatusForbidden || r.errorCode() != CodeAccessDenied {
		t.Fatalf("no CSRF token: %d %s", r.StatusCode, r.body)
	}
	c.csrf = "forged"
	if r := c.do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "phone"}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("wrong CSRF token: %d %s", r.StatusCode, r.body)
	}
	c.csrf = good
	if r := c.do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "phone"}, "Sec-Fetch-Site", "cross-site"); r.StatusCode != http.StatusForbidden {
		t.Fatalf("a cross-site request with a right token: %d %s", r.StatusCode, r.body)
	}
	if r := e.client().do("POST", "/.mfa/api/login", map[string]string{"username": "alice", "password": testPassword}, "Origin", "https://evil.example"); r.StatusCode != http.StatusForbidden {
		t.Fatalf("login CSRF: %d %s", r.StatusCode, r.body)
	}
	if r := c.do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "phone"}); r.StatusCode != http.StatusOK {
		t.Fatalf("a right token: %d %s", r.StatusCode, r.body)
	}
}

func TestBadInputIsRefusedClearly(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.login("alice", testPassword)
	cases := []struct {
		body any
		code string
		want string
	}{
		{`{"name": `, CodeInvalidInput, "not valid JSON"},
		{`{"name": 5}`, CodeInvalidInput, "field name must be a string"},
		{`{"nmae": "x"}`, CodeInvalidInput, `unknown field \"nmae\"`},
		{`{"name": "a"} {"name": "b"}`, CodeInvalidInput, "more than one"},
		{`{"name": "has space"}`, CodeInvalidInput, "device name"},
	}
	for _, tc := range cases {
		r := c.do("POST", "/.mfa/api/devices/virtual", tc.body)
		if r.StatusCode != http.StatusBadRequest || r.errorCode() != tc.code || !strings.Contains(string(r.body), tc.want) {
			t.Errorf("%.40v: %d %s", tc.body, r.StatusCode, r.body)
		}
	}
	if ds, _ := e.svc.Devices.ForUser(t.Context(), "alice"); len(ds) != 0 {
		t.Fatalf("bad input left %d devices behind", len(ds))
	}
	if r := c.do("POST", "/.mfa/api/devices/not;a;serial/enable", twoCodes{"123456", "654321"}); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad serial: %d %s", r.StatusCode, r.body)
	}
	if r := c.do("POST", "/.mfa/api/devices/caddy-mfa:bob:phone/enable", twoCodes{"123456", "654321"}); r.StatusCode != http.StatusNotFound || r.errorCode() != CodeNoSuchEntity {
		t.Fatalf("someone else's device: %d %s", r.StatusCode, r.body)
	}
	if r := c.do("GET", "/.mfa/api/nothing", nil); r.StatusCode != http.StatusNotFound || r.errorCode() != CodeNoSuchEntity {
		t.Fatalf("unknown endpoint: %d %s", r.StatusCode, r.body)
	}
}

func TestEnableErrorsAndDeviceLimit(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.login("alice", testPassword)
	var cv createVirtualResponse
	c.do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "phone"}).json(&cv)
	r := c.do("POST", "/.mfa/api/devices/"+cv.Serial+"/enable", twoCodes{e.code(cv.Secret, 20), e.code(cv.Secret, 21)})
	if r.StatusCode != http.StatusForbidden || r.errorCode() != CodeInvalidAuthCode || !strings.Contains(string(r.body), msgBadDeviceCode) {
		t.Fatalf("codes out of the window: %d %s", r.StatusCode, r.body)
	}
	same := e.code(cv.Secret, 0)
	if r := c.do("POST", "/.mfa/api/devices/"+cv.Serial+"/enable", twoCodes{same, same}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("the same code twice: %d %s", r.StatusCode, r.body)
	}
	c.do("POST", "/.mfa/api/devices/"+cv.Serial+"/enable", twoCodes{e.code(cv.Secret, -1), e.code(cv.Secret, 0)})
	// Now with MFA (enable passed it), up to max_devices (3).
	c2 := e.client()
	c2.login("alice", testPassword)
	if r := c2.do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "tablet"}); r.StatusCode != http.StatusUnauthorized || r.errorCode() != CodeMFARequired {
		t.Fatalf("adding a device without passing a factor: %d %s", r.StatusCode, r.body)
	}
	e.clock.advance(30 * time.Second)
	var vr struct {
		CSRFToken string `json:"csrf_token"`
	}
	c2.do("POST", "/.mfa/api/verify", verifyRequest{Code: e.code(cv.Secret, 0)}).json(&vr)
	c2.csrf = vr.CSRFToken
	for _, name := range []string{"tablet", "laptop"} {
		if r := c2.do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": name}); r.StatusCode != http.StatusOK {
			t.Fatalf("device %s: %d %s", name, r.StatusCode, r.body)
		}
	}
	if r := c2.do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "watch"}); r.StatusCode != http.StatusConflict || r.errorCode() != CodeLimitExceeded {
		t.Fatalf("a fourth device: %d %s", r.StatusCode, r.body)
	}
	if r := c2.do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "phone"}); r.StatusCode != http.StatusConflict || r.errorCode() != CodeEntityAlreadyExists {
		t.Fatalf("an enabled device's name again: %d %s", r.StatusCode, r.body)
	}
	var list []deviceView
	c2.do("GET", "/.mfa/api/devices", nil).json(&list)
	if len(list) != 3 || !list[0].Enabled || list[1].Enabled || list[0].EnableDate == nil {
		t.Fatalf("device list: %+v", list)
	}
	if r := c2.do("GET", "/.mfa/api/devices", nil); strings.Contains(string(r.body), "secret") || strings.Contains(string(r.body), "seed") {
		t.Fatalf("the device list shows secrets: %s", r.body)
	}
}

func TestSignOutRevokesTheCookie(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.login("alice", testPassword)
	c.enrol("phone")
	u, _ := url.Parse(e.server.URL)
	cookies := c.http.Jar.Cookies(u)
	if r := c.do("POST", "/.mfa/api/logout", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("logout: %d %s", r.StatusCode, r.body)
	}
	if r := c.do("GET", "/app", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after logout: %d", r.StatusCode)
	}
	thief := e.client()
	thief.http.Jar.SetCookies(u, cookies)
	if r := thief.do("GET", "/app", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a copy of the signed-out cookie still works: %d", r.StatusCode)
	}
}

func TestSessionIdleTimeout(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.login("alice", testPassword)
	c.enrol("phone")
	e.clock.advance(20 * time.Minute)
	if r := c.do("GET", "/app", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("after 20 idle minutes: %d", r.StatusCode)
	}
	e.clock.advance(25 * time.Minute) // 25 after the refreshed cookie, 45 after sign-in
	if r := c.do("GET", "/app", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("use moved the idle deadline, yet: %d", r.StatusCode)
	}
	e.clock.advance(31 * time.Minute)
	if r := c.do("GET", "/app", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after 31 idle minutes: %d", r.StatusCode)
	}
}

func TestBearerTokens(t *testing.T) {
	e := newEnv(t)
	now := e.clock.now()
	claims := session.Claims{User: "alice", Issued: now, SignedIn: now, Expires: now.Add(time.Hour), MFATime: now, Method: "virtual"}
	tok, _ := e.svc.Ring.Sign(&claims)
	c := e.client()
	r := c.do("GET", "/app", nil, "Authorization", "Bearer "+tok)
	var h map[string]string
	r.json(&h)
	if r.StatusCode != http.StatusOK || h["X-Mfa-Auth-Type"] != "token" || h["X-Mfa-User"] != "alice" {
		t.Fatalf("valid token: %d %s", r.StatusCode, r.body)
	}
	r = c.do("GET", "/app", nil, "Authorization", "Bearer "+tok[:len(tok)-2]+"AA")
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("tampered token: %d %q", r.StatusCode, r.Header.Get("WWW-Authenticate"))
	}
	noMFA := claims
	noMFA.MFATime, noMFA.Method = time.Time{}, ""
	tok2, _ := e.svc.Ring.Sign(&noMFA)
	if r := c.do("GET", "/app", nil, "Authorization", "Bearer "+tok2); r.StatusCode != http.StatusUnauthorized || r.errorCode() != CodeMFARequired {
		t.Fatalf("token without MFA: %d %s", r.StatusCode, r.body)
	}
	e.clock.advance(time.Second)
	if err := e.svc.Revocations.RevokeUser(t.Context(), "alice"); err != nil {
		t.Fatal(err)
	}
	if r := c.do("GET", "/app", nil, "Authorization", "Bearer "+tok); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("revoked token: %d", r.StatusCode)
	}
}

func TestWhoami(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	var w whoamiResponse
	c.do("GET", "/.mfa/api/whoami", nil).json(&w)
	if w.AuthType != "anonymous" || w.User != "" || w.MFA.Present {
		t.Fatalf("anonymous whoami: %+v", w)
	}
	c.login("alice", testPassword)
	serial, _ := c.enrol("phone")
	e.clock.advance(90 * time.Second)
	c.do("GET", "/.mfa/api/whoami", nil).json(&w)
	if w.User != "alice" || w.AuthType != "session" || !w.MFA.Present || *w.MFA.Age != 90 || w.MFA.Method != "virtual" || w.MFA.Serial != serial || w.Groups[0] != "dev" {
		t.Fatalf("whoami: %+v", w)
	}
}

func TestIdentityFromAnEarlierHandler(t *testing.T) {
	e := newEnv(t, func(o *Options, _ *Services) {
		o.Identity = func(r *http.Request) string { return r.Header.Get("X-Test-User") }
	})
	c := e.client()
	if r := c.do("GET", "/app", nil); r.StatusCode != http.StatusUnauthorized || r.errorCode() != CodeAuthRequired {
		t.Fatalf("no identity: %d %s", r.StatusCode, r.body)
	}
	r := c.do("GET", "/app", nil, "X-Test-User", "carol", "Accept", "text/html")
	if r.StatusCode != http.StatusFound || !strings.HasPrefix(r.Header.Get("Location"), "/.mfa/verify") {
		t.Fatalf("external user without a factor: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	var w whoamiResponse
	c.do("GET", "/.mfa/api/whoami", nil, "X-Test-User", "carol").json(&w)
	if w.User != "carol" || w.AuthType != "external" || w.CSRFToken == "" {
		t.Fatalf("whoami: %+v", w)
	}
	c.csrf = w.CSRFToken
	r = c.do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "phone"}, "X-Test-User", "carol")
	var cv createVirtualResponse
	r.json(&cv)
	r = c.do("POST", "/.mfa/api/devices/"+cv.Serial+"/enable", twoCodes{e.code(cv.Secret, -1), e.code(cv.Secret, 0)}, "X-Test-User", "carol")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("enable: %d %s", r.StatusCode, r.body)
	}
	r = c.do("GET", "/app", nil, "X-Test-User", "carol")
	var h map[string]string
	r.json(&h)
	if r.StatusCode != http.StatusOK || h["X-Mfa-Auth-Type"] != "external" || h["X-Mfa-Present"] != "true" {
		t.Fatalf("after the factor: %d %s", r.StatusCode, r.body)
	}
	// A name the gateway cannot hold is refused clearly, not as a failure of the service.
	if r := e.client().do("GET", "/.mfa/api/whoami", nil, "X-Test-User", "carol smith"); r.StatusCode != http.StatusBadRequest || r.errorCode() != CodeInvalidInput {
		t.Fatalf("an invalid external name: %d %s", r.StatusCode, r.body)
	}
	// The cookie is carol's: another identity from the earlier handler does not inherit it.
	if r := c.do("GET", "/app", nil, "X-Test-User", "dave"); r.StatusCode != http.StatusUnauthorized || r.errorCode() != CodeMFARequired {
		t.Fatalf("dave with carol's cookie: %d %s", r.StatusCode, r.body)
	}
}

func TestSafeReturn(t *testing.T) {
	for in, want := range map[string]string{
		"/app?x=1#y": "/app?x=1#y", "": "/", "//evil.example": "/", "/\\evil.example": "/", "https://evil.example/": "/",
		"javascript:alert(1)": "/", "/ok\r\nSet-Cookie: x": "/", "evil": "/", "/a/../b": "/a/../b", "/%2F%2Fevil": "/%2F%2Fevil",
	} {
		if got := safeReturn(in); got != want {
			t.Errorf("safeReturn(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPolicyForbidden(t *testing.T) {
	e := newEnv(t, func(o *Options, _ *Services) {
		o.Policy, _ = policy.Compile(policy.Shortcuts{RequireMFA: true, Groups: []string{"admins"}}.Document(true))
	})
	c := e.client()
	c.login("alice", testPassword)
	c.enrol("phone")
	if r := c.do("GET", "/admin", nil); r.StatusCode != http.StatusForbidden || r.errorCode() != CodeAccessDenied {
		t.Fatalf("not an admin: %d %s", r.StatusCode, r.body)
	}
	if r := c.do("GET", "/admin", nil, "Accept", "text/html"); r.StatusCode != http.StatusForbidden || !strings.Contains(string(r.body), "Access denied") {
		t.Fatalf("not an admin, browser: %d", r.StatusCode)
	}
}

func TestStepUpWhenTheFactorIsTooOld(t *testing.T) {
	e := newEnv(t, func(o *Options, _ *Services) {
		o.Policy, _ = policy.Compile(policy.Shortcuts{RequireMFA: true, MaxAge: 15 * time.Minute}.Document(true))
	})
	c := e.client()
	c.login("alice", testPassword)
	_, secret := c.enrol("phone")
	if r := c.do("GET", "/app", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("fresh factor: %d", r.StatusCode)
	}
	e.clock.advance(16 * time.Minute)
	r := c.do("GET", "/app", nil)
	if r.StatusCode != http.StatusUnauthorized || r.Header.Get("WWW-Authenticate") !=
		`Bearer error="insufficient_user_authentication", error_description="A fresh second factor is required", max_age=900` {
		t.Fatalf("stale factor, API: %d %q", r.StatusCode, r.Header.Get("WWW-Authenticate"))
	}
	if r := c.do("GET", "/app", nil, "Accept", "text/html"); r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/.mfa/verify?return=%2Fapp" {
		t.Fatalf("stale factor, browser: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	var vr struct {
		CSRFToken string `json:"csrf_token"`
	}
	c.do("POST", "/.mfa/api/verify", verifyRequest{Code: e.code(secret, 0)}).json(&vr)
	if r := c.do("GET", "/app", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("after stepping up: %d", r.StatusCode)
	}
}
