package gateway

import (
	"net/http"
	"testing"
	"time"
)

// cookies is what a thief copied from a browser at one moment.
func (c *client) cookies() []*http.Cookie { return c.http.Jar.Cookies(mustURL(c.e.server.URL)) }

// with is a new client holding copied cookies (and the CSRF token of the page they came with).
func (e *env) with(cookies []*http.Cookie, csrf string) *client {
	c := e.client()
	c.http.Jar.SetCookies(mustURL(e.server.URL), cookies)
	c.csrf = csrf
	return c
}

func (e *env) signedInAs(c *client) string {
	var w whoamiResponse
	c.do("GET", "/.mfa/api/whoami", nil).json(&w)
	return w.User
}

// stepUp passes a factor with the device's next code and keeps the new page's CSRF token.
func (c *client) stepUp(secret string) {
	c.e.t.Helper()
	c.e.clock.advance(30 * time.Second)
	r := c.do("POST", "/.mfa/api/verify", verifyRequest{Code: c.e.code(secret, 0)})
	if r.StatusCode != http.StatusOK {
		c.e.t.Fatalf("verify: %d %s", r.StatusCode, r.body)
	}
	var vr struct {
		CSRFToken string `json:"csrf_token"`
	}
	r.json(&vr)
	c.csrf = vr.CSRFToken
}

// Each passed factor issues a new session id. A thief who copied the cookie at any step of one
// sign-in (the password-only cookie, the one after a factor, the one before a step-up) holds
// nothing once the user signs out with the latest; the user's other credentials stay.
func TestSignOutEndsEveryCookieOfTheSignIn(t *testing.T) {
	e := newEnv(t)
	id, key, _, secret := apiConsumer(t, e)
	var tok sessionTokenResponse
	e.client().do("POST", "/.mfa/api/session-token", sessionTokenRequest{}, basic(id, key)...).json(&tok)
	otherBrowser := e.client()
	otherBrowser.login("alice", testPassword)

	c := e.client()
	c.login("alice", testPassword)
	stolen := map[string][]*http.Cookie{"with the password only": c.cookies()}
	c.stepUp(secret)
	stolen["after a factor"] = c.cookies()
	c.stepUp(secret)
	stolen["after a step-up"] = c.cookies()
	if r := c.do("POST", "/.mfa/api/logout", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("logout: %d %s", r.StatusCode, r.body)
	}
	for step, cookies := range stolen {
		thief := e.with(cookies, "")
		if user := e.signedInAs(thief); user != "" {
			t.Errorf("the cookie copied %s still signs in as %q after sign-out", step, user)
		}
	}
	var w whoamiResponse
	if r := e.client().do("GET", "/.mfa/api/whoami", nil, bearer(tok.SessionToken)...); r.StatusCode != http.StatusOK {
		t.Fatalf("a session token minted with an access key was signed out with the browser: %d %s", r.StatusCode, r.body)
	} else if r.json(&w); w.User != "alice" || w.AuthType != "token" {
		t.Fatalf("the session token after sign-out: %+v", w)
	}
	if user := e.signedInAs(otherBrowser); user != "alice" {
		t.Fatalf("signing out in one browser ended the sign-in of another: %q", user)
	}
	again := e.client()
	if r := again.login("alice", testPassword); r.StatusCode != http.StatusOK || e.signedInAs(again) != "alice" {
		t.Fatalf("a new sign-in after sign-out: %d %s", r.StatusCode, r.body)
	}
}

// Signing out with an earlier cookie of the sign-in (one the user still has in a tab, or one a
// thief replays to sign out) ends the later ones too.
func TestSignOutWithAnEarlierCookieEndsTheLaterOnes(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.login("alice", testPassword)
	_, secret := c.enrol("phone")
	earlier, earlierCSRF := c.cookies(), c.csrf
	c.stepUp(secret)
	if r := e.with(earlier, earlierCSRF).do("POST", "/.mfa/api/logout", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("logout with the earlier cookie: %d %s", r.StatusCode, r.body)
	}
	if user := e.signedInAs(c); user != "" {
		t.Fatalf("the latest cookie of a signed-out sign-in still signs in as %q", user)
	}
}

// A thief keeps a stolen cookie alive by using it (each use moves its idle deadline). After the
// user signs out, the revocation must outlast every cookie of that sign-in, not only the one the
// user signed out with, until the sign-in's absolute end.
func TestSignOutOutlivesARefreshedStolenCookie(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.login("alice", testPassword)
	c.enrol("phone")
	thief := e.with(c.cookies(), "")
	e.clock.advance(20 * time.Minute)
	if r := thief.do("GET", "/app", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("the thief's use: %d", r.StatusCode)
	}
	if r := c.do("POST", "/.mfa/api/logout", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("logout: %d %s", r.StatusCode, r.body)
	}
	// Past the idle deadline of the cookie the user signed out with, not of the thief's.
	e.clock.advance(15 * time.Minute)
	if err := e.svc.Revocations.RevokeUser(t.Context(), "bob"); err != nil { // a write prunes what expired
		t.Fatal(err)
	}
	for range 3 {
		if r := thief.do("GET", "/app", nil); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a refreshed copy of a signed-out cookie works again once the original expired: %d", r.StatusCode)
		}
		e.clock.advance(10 * time.Minute)
	}
}
