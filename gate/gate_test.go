package gate_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/internal/housetest"
	"github.com/caddy-mfa/caddy-mfa/session"
	"github.com/caddy-mfa/caddy-mfa/web"
)

func TestAnonymousIsChallengedToSignIn(t *testing.T) {
	e := newEnv(t)
	c := e.Client()
	r := c.Do("GET", "/app/page?x=1", nil, "Accept", "text/html")
	if r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/.mfa/login?return=%2Fapp%2Fpage%3Fx%3D1" {
		t.Fatalf("browser: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	r = c.Do("GET", "/app/page", nil)
	if r.StatusCode != http.StatusUnauthorized || r.ErrorCode() != auth.CodeAuthRequired || r.Header.Get("WWW-Authenticate") != `Basic realm="caddy-mfa"` {
		t.Fatalf("API client: %d %s %q", r.StatusCode, r.Body, r.Header.Get("WWW-Authenticate"))
	}
	r = c.Do("POST", "/app/page", nil, "Accept", "text/html")
	if r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a browser POST is not redirected: %d", r.StatusCode)
	}
}

// TestWholeFlowEnrolThenVerify follows alice from her first sign-in through enrolment to a second
// sign-in that must pass a factor, with the one-time use of codes and the audit along the way.
func TestWholeFlowEnrolThenVerify(t *testing.T) {
	e := newEnv(t)
	serial, secret := enrolOnFirstSignIn(t, e)
	c2 := secondSignInIsChallenged(t, e)
	// The code enable spent is refused; the next step's code passes, once.
	if r := c2.Do("POST", "/.mfa/api/verify", housetest.VerifyRequest{Code: e.Code(secret, 0)}); r.StatusCode != http.StatusForbidden || r.ErrorCode() != auth.CodeInvalidAuthCode {
		t.Fatalf("replayed code: %d %s", r.StatusCode, r.Body)
	}
	e.Clock.Advance(30 * time.Second)
	r := c2.Do("POST", "/.mfa/api/verify", housetest.VerifyRequest{Serial: serial, Code: e.Code(secret, 0)})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("verify: %d %s", r.StatusCode, r.Body)
	}
	var vr struct {
		MFA       housetest.MFAState `json:"mfa"`
		CSRFToken string             `json:"csrf_token"`
	}
	r.JSON(&vr)
	c2.CSRF = vr.CSRFToken
	if !vr.MFA.Present || vr.MFA.Method != "virtual" || vr.MFA.Serial != serial {
		t.Fatalf("verify answered %s", r.Body)
	}
	if r := c2.Do("GET", "/app", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("after verify: %d %s", r.StatusCode, r.Body)
	}
	if e.Events("code_replayed") != 1 || e.Events("factor_passed") != 1 || e.Events("factor_failed") != 1 {
		t.Fatalf("audit: replayed %d passed %d failed %d", e.Events("code_replayed"), e.Events("factor_passed"), e.Events("factor_failed"))
	}
}

// enrolOnFirstSignIn signs alice in without a device, checks that only enrolment is in reach,
// enrols a virtual device and checks that the session then carries the factor to the upstream
// (and that forged X-MFA-* headers do not).
func enrolOnFirstSignIn(t *testing.T, e *env) (serial, secret string) {
	t.Helper()
	c := e.Client()
	r := c.Login("alice", testPassword)
	var lr housetest.LoginResponse
	r.JSON(&lr)
	if r.StatusCode != http.StatusOK || !lr.EnrollmentRequired || lr.MFARequired || lr.CSRFToken == "" {
		t.Fatalf("login: %d %s", r.StatusCode, r.Body)
	}
	// Enrolment only: the app is out of reach, the enrolment pages are not.
	if r := c.Do("GET", "/app", nil, "Accept", "text/html"); r.StatusCode != http.StatusFound || !strings.HasPrefix(r.Header.Get("Location"), "/.mfa/devices?return=") {
		t.Fatalf("enrolling browser: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := c.Do("GET", "/app", nil); r.StatusCode != http.StatusUnauthorized || r.ErrorCode() != auth.CodeMFARequired {
		t.Fatalf("enrolling API client: %d %s", r.StatusCode, r.Body)
	}
	serial, secret = c.Enrol("phone")
	if e.Events("device_created") != 1 || e.Events("device_enabled") != 1 {
		t.Fatal("enrolment was not audited")
	}
	// Enabling proved the device: the session carries the factor.
	r = c.Do("GET", "/app", nil, "X-MFA-User", "mallory", "X-Mfa-Present", "true", "X-MFA-Admin", "yes")
	var h map[string]string
	r.JSON(&h)
	if r.StatusCode != http.StatusOK || h["X-Mfa-User"] != "alice" || h["X-Mfa-Present"] != "true" || h["X-Mfa-Method"] != "virtual" ||
		h["X-Mfa-Auth-Type"] != "session" || h["X-Mfa-Groups"] != "dev" || h["X-Mfa-Admin"] != "" {
		t.Fatalf("upstream saw %d %v", r.StatusCode, h)
	}
	return serial, secret
}

// secondSignInIsChallenged signs alice in on a new client and checks that browsers are sent to
// the verify page and API clients refused until a factor passes.
func secondSignInIsChallenged(t *testing.T, e *env) *client {
	t.Helper()
	c2 := e.Client()
	r := c2.Login("alice", testPassword)
	var lr housetest.LoginResponse
	r.JSON(&lr)
	if !lr.MFARequired || lr.EnrollmentRequired {
		t.Fatalf("second login: %s", r.Body)
	}
	if r := c2.Do("GET", "/app", nil, "Accept", "text/html"); r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/.mfa/verify?return=%2Fapp" {
		t.Fatalf("signed in without MFA: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	r = c2.Do("GET", "/app", nil)
	if r.StatusCode != http.StatusUnauthorized || r.ErrorCode() != auth.CodeMFARequired ||
		!strings.HasPrefix(r.Header.Get("WWW-Authenticate"), `Bearer error="insufficient_user_authentication"`) {
		t.Fatalf("API without MFA: %d %s %q", r.StatusCode, r.Body, r.Header.Get("WWW-Authenticate"))
	}
	return c2
}

func TestLockoutAcrossSessions(t *testing.T) {
	e := newEnv(t)
	a := e.Client()
	a.Login("alice", testPassword)
	_, secret := a.Enrol("phone")
	e.Clock.Advance(time.Minute)
	b, c := e.Client(), e.Client()
	b.Login("alice", testPassword)
	c.Login("alice", testPassword)
	for _, cl := range []*client{b, c, b} { // three failures in two sessions: max_failures 3
		if r := cl.Do("POST", "/.mfa/api/verify", housetest.VerifyRequest{Code: "000000"}); r.StatusCode != http.StatusForbidden {
			t.Fatalf("wrong code: %d %s", r.StatusCode, r.Body)
		}
	}
	r := c.Do("POST", "/.mfa/api/verify", housetest.VerifyRequest{Code: e.Code(secret, 0)})
	if r.StatusCode != http.StatusTooManyRequests || r.ErrorCode() != auth.CodeThrottled || r.Header.Get("Retry-After") != "30" {
		t.Fatalf("a right code while locked: %d %s Retry-After %q", r.StatusCode, r.Body, r.Header.Get("Retry-After"))
	}
	if e.Events("user_locked") != 1 {
		t.Fatal("the lock was not audited")
	}
	e.Clock.Advance(31 * time.Second)
	if r := c.Do("POST", "/.mfa/api/verify", housetest.VerifyRequest{Code: e.Code(secret, 0)}); r.StatusCode != http.StatusOK {
		t.Fatalf("after the lock: %d %s", r.StatusCode, r.Body)
	}
}

func TestUnknownUserAndWrongPasswordLookAlike(t *testing.T) {
	e := newEnv(t)
	c := e.Client()
	unknown := c.Login("nobody", testPassword)
	wrong := c.Login("alice", "wrong password")
	if unknown.StatusCode != wrong.StatusCode || string(unknown.Body) != string(wrong.Body) || unknown.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unknown user %d %s; wrong password %d %s", unknown.StatusCode, unknown.Body, wrong.StatusCode, wrong.Body)
	}
	if len(unknown.Cookies()) != 0 || len(wrong.Cookies()) != 0 {
		t.Fatal("a failed sign-in set a cookie")
	}
	// A name no file system could store (1,200 bytes once escaped) is just another unknown user.
	if long := c.Login(strings.Repeat("é", 100), testPassword); long.StatusCode != wrong.StatusCode || string(long.Body) != string(wrong.Body) {
		t.Fatalf("an over-long user name: %d %s", long.StatusCode, long.Body)
	}
}

func TestCSRFAndCrossOrigin(t *testing.T) {
	e := newEnv(t)
	c := e.Client()
	c.Login("alice", testPassword)
	good := c.CSRF
	c.CSRF = ""
	if r := c.Do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "phone"}); r.StatusCode != http.StatusForbidden || r.ErrorCode() != auth.CodeAccessDenied {
		t.Fatalf("no CSRF token: %d %s", r.StatusCode, r.Body)
	}
	c.CSRF = "forged"
	if r := c.Do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "phone"}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("wrong CSRF token: %d %s", r.StatusCode, r.Body)
	}
	c.CSRF = good
	if r := c.Do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "phone"}, "Sec-Fetch-Site", "cross-site"); r.StatusCode != http.StatusForbidden {
		t.Fatalf("a cross-site request with a right token: %d %s", r.StatusCode, r.Body)
	}
	if r := e.Client().Do("POST", "/.mfa/api/login", map[string]string{"username": "alice", "password": testPassword}, "Origin", "https://evil.example"); r.StatusCode != http.StatusForbidden {
		t.Fatalf("login CSRF: %d %s", r.StatusCode, r.Body)
	}
	if r := c.Do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "phone"}); r.StatusCode != http.StatusOK {
		t.Fatalf("a right token: %d %s", r.StatusCode, r.Body)
	}
}

func TestBadInputIsRefusedClearly(t *testing.T) {
	e := newEnv(t)
	c := e.Client()
	c.Login("alice", testPassword)
	cases := []struct {
		body any
		code string
		want string
	}{
		{`{"name": `, auth.CodeInvalidInput, "not valid JSON"},
		{`{"name": 5}`, auth.CodeInvalidInput, "field name must be a string"},
		{`{"nmae": "x"}`, auth.CodeInvalidInput, `unknown field \"nmae\"`},
		{`{"name": "a"} {"name": "b"}`, auth.CodeInvalidInput, "more than one"},
		{`{"name": "has space"}`, auth.CodeInvalidInput, "device name"},
	}
	for _, tc := range cases {
		r := c.Do("POST", "/.mfa/api/devices/virtual", tc.body)
		if r.StatusCode != http.StatusBadRequest || r.ErrorCode() != tc.code || !strings.Contains(string(r.Body), tc.want) {
			t.Errorf("%.40v: %d %s", tc.body, r.StatusCode, r.Body)
		}
	}
	if ds, _ := e.Ops.Devices.ForUser(t.Context(), "alice"); len(ds) != 0 {
		t.Fatalf("bad input left %d devices behind", len(ds))
	}
	if r := c.Do("POST", "/.mfa/api/devices/not;a;serial/enable", housetest.Pair("123456", "654321")); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad serial: %d %s", r.StatusCode, r.Body)
	}
	if r := c.Do("POST", "/.mfa/api/devices/caddy-mfa:bob:phone/enable", housetest.Pair("123456", "654321")); r.StatusCode != http.StatusNotFound || r.ErrorCode() != auth.CodeNoSuchEntity {
		t.Fatalf("someone else's device: %d %s", r.StatusCode, r.Body)
	}
	if r := c.Do("GET", "/.mfa/api/nothing", nil); r.StatusCode != http.StatusNotFound || r.ErrorCode() != auth.CodeNoSuchEntity {
		t.Fatalf("unknown endpoint: %d %s", r.StatusCode, r.Body)
	}
}

func TestEnableErrorsAndDeviceLimit(t *testing.T) {
	e := newEnv(t)
	c := e.Client()
	c.Login("alice", testPassword)
	var cv web.VirtualDevice
	c.Do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "phone"}).JSON(&cv)
	r := c.Do("POST", "/.mfa/api/devices/"+cv.Serial+"/enable", housetest.Pair(e.Code(cv.Secret, 20), e.Code(cv.Secret, 21)))
	if r.StatusCode != http.StatusForbidden || r.ErrorCode() != auth.CodeInvalidAuthCode || !strings.Contains(string(r.Body), auth.MsgBadDeviceCode) {
		t.Fatalf("codes out of the window: %d %s", r.StatusCode, r.Body)
	}
	same := e.Code(cv.Secret, 0)
	if r := c.Do("POST", "/.mfa/api/devices/"+cv.Serial+"/enable", housetest.Pair(same, same)); r.StatusCode != http.StatusForbidden {
		t.Fatalf("the same code twice: %d %s", r.StatusCode, r.Body)
	}
	c.Do("POST", "/.mfa/api/devices/"+cv.Serial+"/enable", housetest.Pair(e.Code(cv.Secret, -1), e.Code(cv.Secret, 0)))
	// Now with MFA (enable passed it), up to max_devices (3).
	c2 := e.Client()
	c2.Login("alice", testPassword)
	if r := c2.Do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "tablet"}); r.StatusCode != http.StatusUnauthorized || r.ErrorCode() != auth.CodeMFARequired {
		t.Fatalf("adding a device without passing a factor: %d %s", r.StatusCode, r.Body)
	}
	e.Clock.Advance(30 * time.Second)
	var vr struct {
		CSRFToken string `json:"csrf_token"`
	}
	c2.Do("POST", "/.mfa/api/verify", housetest.VerifyRequest{Code: e.Code(cv.Secret, 0)}).JSON(&vr)
	c2.CSRF = vr.CSRFToken
	for _, name := range []string{"tablet", "laptop"} {
		if r := c2.Do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": name}); r.StatusCode != http.StatusOK {
			t.Fatalf("device %s: %d %s", name, r.StatusCode, r.Body)
		}
	}
	if r := c2.Do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "watch"}); r.StatusCode != http.StatusConflict || r.ErrorCode() != auth.CodeLimitExceeded {
		t.Fatalf("a fourth device: %d %s", r.StatusCode, r.Body)
	}
	if r := c2.Do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "phone"}); r.StatusCode != http.StatusConflict || r.ErrorCode() != auth.CodeEntityAlreadyExists {
		t.Fatalf("an enabled device's name again: %d %s", r.StatusCode, r.Body)
	}
	var list []web.DeviceView
	c2.Do("GET", "/.mfa/api/devices", nil).JSON(&list)
	if len(list) != 3 || !list[0].Enabled || list[1].Enabled || list[0].EnableDate == nil {
		t.Fatalf("device list: %+v", list)
	}
	if r := c2.Do("GET", "/.mfa/api/devices", nil); strings.Contains(string(r.Body), "secret") || strings.Contains(string(r.Body), "seed") {
		t.Fatalf("the device list shows secrets: %s", r.Body)
	}
}

func TestSignOutRevokesTheCookie(t *testing.T) {
	e := newEnv(t)
	c := e.Client()
	c.Login("alice", testPassword)
	c.Enrol("phone")
	u, _ := url.Parse(e.Server.URL)
	cookies := c.HTTP.Jar.Cookies(u)
	if r := c.Do("POST", "/.mfa/api/logout", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("logout: %d %s", r.StatusCode, r.Body)
	}
	if r := c.Do("GET", "/app", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after logout: %d", r.StatusCode)
	}
	thief := e.Client()
	thief.HTTP.Jar.SetCookies(u, cookies)
	if r := thief.Do("GET", "/app", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a copy of the signed-out cookie still works: %d", r.StatusCode)
	}
}

func TestSessionIdleTimeout(t *testing.T) {
	e := newEnv(t)
	c := e.Client()
	c.Login("alice", testPassword)
	c.Enrol("phone")
	e.Clock.Advance(20 * time.Minute)
	if r := c.Do("GET", "/app", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("after 20 idle minutes: %d", r.StatusCode)
	}
	e.Clock.Advance(25 * time.Minute) // 25 after the refreshed cookie, 45 after sign-in
	if r := c.Do("GET", "/app", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("use moved the idle deadline, yet: %d", r.StatusCode)
	}
	e.Clock.Advance(31 * time.Minute)
	if r := c.Do("GET", "/app", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after 31 idle minutes: %d", r.StatusCode)
	}
}

func TestBearerTokens(t *testing.T) {
	e := newEnv(t)
	now := e.Clock.Now()
	claims := session.Claims{User: "alice", Issued: now, SignedIn: now, Expires: now.Add(time.Hour), MFATime: now, Method: "virtual"}
	tok, _ := e.Ops.Ring.Sign(&claims)
	c := e.Client()
	r := c.Do("GET", "/app", nil, "Authorization", "Bearer "+tok)
	var h map[string]string
	r.JSON(&h)
	if r.StatusCode != http.StatusOK || h["X-Mfa-Auth-Type"] != "token" || h["X-Mfa-User"] != "alice" {
		t.Fatalf("valid token: %d %s", r.StatusCode, r.Body)
	}
	r = c.Do("GET", "/app", nil, "Authorization", "Bearer "+tok[:len(tok)-2]+"AA")
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("tampered token: %d %q", r.StatusCode, r.Header.Get("WWW-Authenticate"))
	}
	noMFA := claims
	noMFA.MFATime, noMFA.Method = time.Time{}, ""
	tok2, _ := e.Ops.Ring.Sign(&noMFA)
	if r := c.Do("GET", "/app", nil, "Authorization", "Bearer "+tok2); r.StatusCode != http.StatusUnauthorized || r.ErrorCode() != auth.CodeMFARequired {
		t.Fatalf("token without MFA: %d %s", r.StatusCode, r.Body)
	}
	e.Clock.Advance(time.Second)
	if err := e.Ops.Revocations.RevokeUser(t.Context(), "alice"); err != nil {
		t.Fatal(err)
	}
	if r := c.Do("GET", "/app", nil, "Authorization", "Bearer "+tok); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("revoked token: %d", r.StatusCode)
	}
}

func TestWhoami(t *testing.T) {
	e := newEnv(t)
	c := e.Client()
	var w housetest.WhoAmI
	c.Do("GET", "/.mfa/api/whoami", nil).JSON(&w)
	if w.AuthType != "anonymous" || w.User != "" || w.MFA.Present {
		t.Fatalf("anonymous whoami: %+v", w)
	}
	c.Login("alice", testPassword)
	serial, _ := c.Enrol("phone")
	e.Clock.Advance(90 * time.Second)
	c.Do("GET", "/.mfa/api/whoami", nil).JSON(&w)
	if w.User != "alice" || w.AuthType != "session" || !w.MFA.Present || *w.MFA.Age != 90 || w.MFA.Method != "virtual" || w.MFA.Serial != serial || w.Groups[0] != "dev" {
		t.Fatalf("whoami: %+v", w)
	}
}

func TestSafeReturn(t *testing.T) {
	for in, want := range map[string]string{
		"/app?x=1#y": "/app?x=1#y", "": "/", "//evil.example": "/", "/\\evil.example": "/", "https://evil.example/": "/",
		"javascript:alert(1)": "/", "/ok\r\nSet-Cookie: x": "/", "evil": "/", "/a/../b": "/a/../b", "/%2F%2Fevil": "/%2F%2Fevil",
	} {
		if got := web.SafeReturn(in); got != want {
			t.Errorf("web.SafeReturn(%q) = %q, want %q", in, got, want)
		}
	}
}
