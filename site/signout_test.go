package site_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/internal/housetest"
)

// cookies is what a thief copied from a browser at one moment.
func (c *client) cookies() []*http.Cookie {
	return c.HTTP.Jar.Cookies(housetest.MustURL(c.e.Server.URL))
}

// with is a new client holding copied cookies (and the CSRF token of the page they came with).
func (e *env) with(cookies []*http.Cookie, csrf string) *client {
	c := e.Client()
	c.HTTP.Jar.SetCookies(housetest.MustURL(e.Server.URL), cookies)
	c.CSRF = csrf
	return c
}

func (e *env) signedInAs(c *client) string {
	var w housetest.WhoAmI
	c.Do("GET", "/.mfa/api/whoami", nil).JSON(&w)
	return w.User
}

// stepUp passes a factor with the device's next code and keeps the new page's CSRF token.
func (c *client) stepUp(secret string) {
	c.e.T.Helper()
	c.e.Clock.Advance(30 * time.Second)
	r := c.Do("POST", "/.mfa/api/verify", housetest.VerifyRequest{Code: c.e.Code(secret, 0)})
	if r.StatusCode != http.StatusOK {
		c.e.T.Fatalf("verify: %d %s", r.StatusCode, r.Body)
	}
	var vr struct {
		CSRFToken string `json:"csrf_token"`
	}
	r.JSON(&vr)
	c.CSRF = vr.CSRFToken
}

// Each passed factor issues a new session id. A thief who copied the cookie at any step of one
// sign-in (the password-only cookie, the one after a factor, the one before a step-up) holds
// nothing once the user signs out with the latest; the user's other credentials stay.
func TestSignOutEndsEveryCookieOfTheSignIn(t *testing.T) {
	e := newEnv(t)
	id, key, _, secret := apiConsumer(t, e)
	var tok housetest.SessionTokenResponse
	e.Client().Do("POST", "/.mfa/api/session-token", housetest.SessionTokenRequest{}, housetest.Basic(id, key)...).JSON(&tok)
	otherBrowser := e.Client()
	otherBrowser.Login("alice", testPassword)

	c := e.Client()
	c.Login("alice", testPassword)
	stolen := map[string][]*http.Cookie{"with the password only": c.cookies()}
	c.stepUp(secret)
	stolen["after a factor"] = c.cookies()
	c.stepUp(secret)
	stolen["after a step-up"] = c.cookies()
	if r := c.Do("POST", "/.mfa/api/logout", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("logout: %d %s", r.StatusCode, r.Body)
	}
	for step, cookies := range stolen {
		thief := e.with(cookies, "")
		if user := e.signedInAs(thief); user != "" {
			t.Errorf("the cookie copied %s still signs in as %q after sign-out", step, user)
		}
	}
	var w housetest.WhoAmI
	if r := e.Client().Do("GET", "/.mfa/api/whoami", nil, bearer(tok.SessionToken)...); r.StatusCode != http.StatusOK {
		t.Fatalf("a session token minted with an access key was signed out with the browser: %d %s", r.StatusCode, r.Body)
	} else if r.JSON(&w); w.User != "alice" || w.AuthType != "token" {
		t.Fatalf("the session token after sign-out: %+v", w)
	}
	if user := e.signedInAs(otherBrowser); user != "alice" {
		t.Fatalf("signing out in one browser ended the sign-in of another: %q", user)
	}
	again := e.Client()
	if r := again.Login("alice", testPassword); r.StatusCode != http.StatusOK || e.signedInAs(again) != "alice" {
		t.Fatalf("a new sign-in after sign-out: %d %s", r.StatusCode, r.Body)
	}
}

// Signing out with an earlier cookie of the sign-in (one the user still has in a tab, or one a
// thief replays to sign out) ends the later ones too.
func TestSignOutWithAnEarlierCookieEndsTheLaterOnes(t *testing.T) {
	e := newEnv(t)
	c := e.Client()
	c.Login("alice", testPassword)
	_, secret := c.Enrol("phone")
	earlier, earlierCSRF := c.cookies(), c.CSRF
	c.stepUp(secret)
	if r := e.with(earlier, earlierCSRF).Do("POST", "/.mfa/api/logout", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("logout with the earlier cookie: %d %s", r.StatusCode, r.Body)
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
	c := e.Client()
	c.Login("alice", testPassword)
	c.Enrol("phone")
	thief := e.with(c.cookies(), "")
	e.Clock.Advance(20 * time.Minute)
	if r := thief.Do("GET", "/app", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("the thief's use: %d", r.StatusCode)
	}
	if r := c.Do("POST", "/.mfa/api/logout", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("logout: %d %s", r.StatusCode, r.Body)
	}
	// Past the idle deadline of the cookie the user signed out with, not of the thief's.
	e.Clock.Advance(15 * time.Minute)
	if err := e.Ops.Revocations.RevokeUser(t.Context(), "bob"); err != nil { // a write prunes what expired
		t.Fatal(err)
	}
	for range 3 {
		if r := thief.Do("GET", "/app", nil); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a refreshed copy of a signed-out cookie works again once the original expired: %d", r.StatusCode)
		}
		e.Clock.Advance(10 * time.Minute)
	}
}
