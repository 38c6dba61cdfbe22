package gate_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/gate"
	"github.com/caddy-mfa/caddy-mfa/internal/housetest"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/web"
)

// What the route's policy and an earlier handler's sign-in make of a caller.

func TestIdentityFromAnEarlierHandler(t *testing.T) {
	e := newEnv(t, func(o *gate.Options, _ *auth.Config, _ *auth.Deps) {
		o.Identity = func(r *http.Request) string { return r.Header.Get("X-Test-User") }
	})
	c := e.Client()
	if r := c.Do("GET", "/app", nil); r.StatusCode != http.StatusUnauthorized || r.ErrorCode() != auth.CodeAuthRequired {
		t.Fatalf("no identity: %d %s", r.StatusCode, r.Body)
	}
	r := c.Do("GET", "/app", nil, "X-Test-User", "carol", "Accept", "text/html")
	if r.StatusCode != http.StatusFound || !strings.HasPrefix(r.Header.Get("Location"), "/.mfa/verify") {
		t.Fatalf("external user without a factor: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	var w housetest.WhoAmI
	c.Do("GET", "/.mfa/api/whoami", nil, "X-Test-User", "carol").JSON(&w)
	if w.User != "carol" || w.AuthType != "external" || w.CSRFToken == "" {
		t.Fatalf("whoami: %+v", w)
	}
	c.CSRF = w.CSRFToken
	r = c.Do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "phone"}, "X-Test-User", "carol")
	var cv web.VirtualDevice
	r.JSON(&cv)
	r = c.Do("POST", "/.mfa/api/devices/"+cv.Serial+"/enable", housetest.Pair(e.Code(cv.Secret, -1), e.Code(cv.Secret, 0)), "X-Test-User", "carol")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("enable: %d %s", r.StatusCode, r.Body)
	}
	r = c.Do("GET", "/app", nil, "X-Test-User", "carol")
	var h map[string]string
	r.JSON(&h)
	if r.StatusCode != http.StatusOK || h["X-Mfa-Auth-Type"] != "external" || h["X-Mfa-Present"] != "true" {
		t.Fatalf("after the factor: %d %s", r.StatusCode, r.Body)
	}
	// A name the gateway cannot hold is refused clearly, not as a failure of the service.
	if r := e.Client().Do("GET", "/.mfa/api/whoami", nil, "X-Test-User", "carol smith"); r.StatusCode != http.StatusBadRequest || r.ErrorCode() != auth.CodeInvalidInput {
		t.Fatalf("an invalid external name: %d %s", r.StatusCode, r.Body)
	}
	// The cookie is carol's: another identity from the earlier handler does not inherit it.
	if r := c.Do("GET", "/app", nil, "X-Test-User", "dave"); r.StatusCode != http.StatusUnauthorized || r.ErrorCode() != auth.CodeMFARequired {
		t.Fatalf("dave with carol's cookie: %d %s", r.StatusCode, r.Body)
	}
}

func TestPolicyForbidden(t *testing.T) {
	e := newEnv(t, func(o *gate.Options, _ *auth.Config, _ *auth.Deps) {
		o.Policy, _ = policy.Compile(policy.Shortcuts{RequireMFA: true, Groups: []string{"admins"}}.Document(true))
	})
	c := e.Client()
	c.Login("alice", testPassword)
	c.Enrol("phone")
	if r := c.Do("GET", "/admin", nil); r.StatusCode != http.StatusForbidden || r.ErrorCode() != auth.CodeAccessDenied {
		t.Fatalf("not an admin: %d %s", r.StatusCode, r.Body)
	}
	if r := c.Do("GET", "/admin", nil, "Accept", "text/html"); r.StatusCode != http.StatusForbidden || !strings.Contains(string(r.Body), "Access denied") {
		t.Fatalf("not an admin, browser: %d", r.StatusCode)
	}
}

func TestStepUpWhenTheFactorIsTooOld(t *testing.T) {
	e := newEnv(t, func(o *gate.Options, _ *auth.Config, _ *auth.Deps) {
		o.Policy, _ = policy.Compile(policy.Shortcuts{RequireMFA: true, MaxAge: 15 * time.Minute}.Document(true))
	})
	c := e.Client()
	c.Login("alice", testPassword)
	_, secret := c.Enrol("phone")
	if r := c.Do("GET", "/app", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("fresh factor: %d", r.StatusCode)
	}
	e.Clock.Advance(16 * time.Minute)
	r := c.Do("GET", "/app", nil)
	if r.StatusCode != http.StatusUnauthorized || r.Header.Get("WWW-Authenticate") !=
		`Bearer error="insufficient_user_authentication", error_description="A fresh second factor is required", max_age=900` {
		t.Fatalf("stale factor, API: %d %q", r.StatusCode, r.Header.Get("WWW-Authenticate"))
	}
	if r := c.Do("GET", "/app", nil, "Accept", "text/html"); r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/.mfa/verify?return=%2Fapp" {
		t.Fatalf("stale factor, browser: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	var vr struct {
		CSRFToken string `json:"csrf_token"`
	}
	c.Do("POST", "/.mfa/api/verify", housetest.VerifyRequest{Code: e.Code(secret, 0)}).JSON(&vr)
	if r := c.Do("GET", "/app", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("after stepping up: %d", r.StatusCode)
	}
}
