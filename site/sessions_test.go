package site_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/admin"
	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/internal/housetest"
)

// sessionView is a sign-in as GET /api/sessions lists it.
type sessionView struct {
	ID        string    `json:"id"`
	Created   time.Time `json:"created"`
	LastSeen  time.Time `json:"last_seen"`
	SourceIP  string    `json:"source_ip"`
	UserAgent string    `json:"user_agent"`
	Method    string    `json:"method"`
	Current   bool      `json:"current"`
}

func (c *client) sessions() []sessionView { return listAt[sessionView](c, "/.mfa/api/sessions") }

// listAt is the list a GET of path answers, for the signed-in client.
func listAt[T any](c *client, path string) []T {
	c.e.T.Helper()
	var out []T
	r := c.Do("GET", path, nil)
	if r.StatusCode != http.StatusOK {
		c.e.T.Fatalf("%s: %d %s", path, r.StatusCode, r.Body)
	}
	r.JSON(&out)
	return out
}

// browser signs alice in with a User-Agent of its own and passes a factor with secret.
func (e *env) browser(agent, secret string) *client {
	c := e.Client()
	c.Header = http.Header{"User-Agent": {agent}}
	if r := c.Login("alice", testPassword); r.StatusCode != http.StatusOK {
		e.T.Fatalf("sign-in from %s: %d", agent, r.StatusCode)
	}
	if secret != "" {
		e.Clock.Advance(30 * time.Second) // each browser its own one-time code
		c.stepUp(secret)
	}
	return c
}

// TestUsersSeeAndEndTheirOwnSessions: a user lists where they are signed in, ends one other
// browser or all of them, and the ended ones are signed out at once; nobody ends another user's.
func TestUsersSeeAndEndTheirOwnSessions(t *testing.T) {
	e := newEnv(t)
	first := e.Client()
	first.Login("alice", testPassword)
	_, secret := first.Enrol("phone")
	laptop, phone, tablet := e.browser("Laptop/1.0", secret), e.browser("Phone/2.0", secret), e.browser("Tablet/3.0", "")
	list := laptop.sessions()
	if len(list) != 4 {
		t.Fatalf("4 sign-ins listed as %d: %+v", len(list), list)
	}
	byAgent := map[string]sessionView{}
	for _, s := range list {
		byAgent[s.UserAgent] = s
		if s.SourceIP != "127.0.0.1" || s.Created.IsZero() || s.LastSeen.Before(s.Created) || len(s.ID) != 32 {
			t.Errorf("sign-in %+v", s)
		}
	}
	if !byAgent["Laptop/1.0"].Current || byAgent["Phone/2.0"].Current || byAgent["Phone/2.0"].Method != "virtual" || byAgent["Tablet/3.0"].Method != "" {
		t.Fatalf("current and methods: %+v", byAgent)
	}
	// Another user's sign-in, a made-up one and a malformed id are none of alice's to end.
	bob := e.Client()
	bob.Login("bob", testPassword)
	bobs := bob.sessions()
	for id, want := range map[string]int{bobs[0].ID: 404, strings.Repeat("ab", 16): 404, "nope": 400, strings.Repeat("AB", 16) + "00": 400} {
		if r := laptop.Do("DELETE", "/.mfa/api/sessions/"+id, nil); r.StatusCode != want {
			t.Errorf("ending %q: %d %s, want %d", id, r.StatusCode, r.Body, want)
		}
	}
	if e.signedInAs(bob) != "bob" {
		t.Fatal("bob was signed out by alice")
	}
	// Ending the phone signs it out, and only it.
	if r := laptop.Do("DELETE", "/.mfa/api/sessions/"+byAgent["Phone/2.0"].ID, nil); r.StatusCode != http.StatusOK {
		t.Fatalf("ending the phone: %d %s", r.StatusCode, r.Body)
	}
	if e.signedInAs(phone) != "" || e.signedInAs(laptop) != "alice" || e.signedInAs(tablet) != "alice" {
		t.Fatal("ending the phone's sign-in ended another, or not the phone's")
	}
	if r := phone.Do("GET", "/app", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the ended phone at the app: %d", r.StatusCode)
	}
	// Everywhere else: the first browser and the tablet go, the laptop stays.
	var ended struct{ Ended int }
	if r := laptop.Do("POST", "/.mfa/api/sessions/revoke-others", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("revoke-others: %d %s", r.StatusCode, r.Body)
	} else if r.JSON(&ended); ended.Ended != 2 {
		t.Fatalf("revoke-others ended %d, want 2", ended.Ended)
	}
	if e.signedInAs(first) != "" || e.signedInAs(tablet) != "" || e.signedInAs(laptop) != "alice" {
		t.Fatal("revoke-others")
	}
	if list := laptop.sessions(); len(list) != 1 || !list[0].Current {
		t.Fatalf("after revoke-others: %+v", list)
	}
}

// TestSessionCallsRefuseWhatCannotSignIn: ending sign-ins takes this site's browser session and
// its CSRF token; an access key or a session token, even one minted with MFA, ends nothing.
func TestSessionCallsRefuseWhatCannotSignIn(t *testing.T) {
	e := newEnv(t)
	id, key, serial, secret := apiConsumer(t, e)
	other := e.browser("Other/1.0", "")
	target := other.sessions()[0].ID
	var tok housetest.SessionTokenResponse
	e.Clock.Advance(time.Minute)
	e.Client().Do("POST", "/.mfa/api/session-token", housetest.SessionTokenRequest{Serial: serial, Code: e.Code(secret, 0)}, housetest.Basic(id, key)...).JSON(&tok)
	for name, headers := range map[string][]string{"access key": housetest.Basic(id, key), "session token": {"Authorization", "Bearer " + tok.SessionToken}} {
		for _, call := range []struct{ method, path string }{{"DELETE", "/.mfa/api/sessions/" + target}, {"POST", "/.mfa/api/sessions/revoke-others"}} {
			if r := e.Client().Do(call.method, call.path, nil, headers...); r.StatusCode != http.StatusForbidden || r.ErrorCode() != auth.CodeAccessDenied {
				t.Errorf("%s %s with an %s: %d %s", call.method, call.path, name, r.StatusCode, r.Body)
			}
		}
	}
	csrfless := e.Client()
	csrfless.HTTP.Jar = other.HTTP.Jar
	if r := csrfless.Do("POST", "/.mfa/api/sessions/revoke-others", nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("revoke-others without the CSRF token: %d", r.StatusCode)
	}
	if e.signedInAs(other) != "alice" {
		t.Fatal("a refused call signed the browser out")
	}
}

// TestSessionRecordsFollowTheSignIn: the refreshed cookie moves last_seen; sign-out, the
// operator's revoke-sessions and the absolute lifetime each take a sign-in off the list; the
// operators' API lists them too.
func TestSessionRecordsFollowTheSignIn(t *testing.T) {
	e := newEnv(t)
	a := e.Client()
	a.Login("alice", testPassword)
	_, secret := a.Enrol("phone")
	before := a.sessions()[0].LastSeen
	e.Clock.Advance(5 * time.Minute)
	a.Do("GET", "/app", nil)
	if after := a.sessions()[0].LastSeen; !after.After(before) {
		t.Fatalf("last_seen %v did not move after a refresh (was %v)", after, before)
	}
	b := e.browser("B/1", secret)
	ops := admin.New(e.Ops)
	if code, _, raw := housetest.AdminCall(t, ops, "GET", "/mfa/users/alice/sessions", nil); code != http.StatusOK || strings.Count(string(raw), `"id"`) != 2 {
		t.Fatalf("admin sessions: %d %s", code, raw)
	}
	if r := b.Do("POST", "/.mfa/api/logout", nil); r.StatusCode != http.StatusOK || len(a.sessions()) != 1 {
		t.Fatalf("a signed-out browser stays listed: %d %+v", r.StatusCode, a.sessions())
	}
	e.Clock.Advance(time.Millisecond)
	if code, _, _ := housetest.AdminCall(t, ops, "POST", "/mfa/users/alice/revoke-sessions", nil); code != http.StatusOK {
		t.Fatal("revoke-sessions")
	}
	if code, _, raw := housetest.AdminCall(t, ops, "GET", "/mfa/users/alice/sessions", nil); code != http.StatusOK || string(raw) != "[]\n" {
		t.Fatalf("after revoke-sessions: %d %s", code, raw)
	}
	c := e.browser("C/1", "")
	e.Clock.Advance(13 * time.Hour) // past the absolute lifetime: the cookie and its record are gone
	d := e.browser("D/1", "")
	if list := d.sessions(); len(list) != 1 || list[0].UserAgent != "D/1" {
		t.Fatalf("an ended sign-in stays listed: %+v", list)
	}
	_ = c
}

// TestManySignInsAtOnceAreAllListedAndEnded: 20 browsers sign in at once; all are listed, and
// revoke-others ends exactly the 19 others.
func TestManySignInsAtOnceAreAllListedAndEnded(t *testing.T) {
	e := newEnv(t)
	clients := make([]*client, 20)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() { clients[i] = e.browser("Agent/"+string(rune('A'+i)), "") })
	}
	wg.Wait()
	keeper := clients[0]
	if list := keeper.sessions(); len(list) != 20 {
		t.Fatalf("20 sign-ins at once listed as %d", len(list))
	}
	if r := keeper.Do("POST", "/.mfa/api/sessions/revoke-others", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("revoke-others: %d %s", r.StatusCode, r.Body)
	}
	for i, c := range clients {
		if got, want := e.signedInAs(c), map[bool]string{true: "alice", false: ""}[i == 0]; got != want {
			t.Errorf("browser %d is signed in as %q, want %q", i, got, want)
		}
	}
}

// TestDevicesPageListsSessions: the page shows where the user is signed in and signs another
// browser out with a form.
func TestDevicesPageListsSessions(t *testing.T) {
	e := newEnv(t)
	a := e.Client()
	a.Login("alice", testPassword)
	_, secret := a.Enrol("phone")
	other := e.browser("Other/9.9", secret)
	page := a.Do("GET", "/.mfa/devices", nil)
	body := string(page.Body)
	if !strings.Contains(body, "Where you're signed in") || !strings.Contains(body, "Other/9.9") || !strings.Contains(body, "(this browser)") {
		t.Fatalf("devices page: %s", body)
	}
	csrf := match(t, csrfField, page.Body)
	id := other.sessions()[0].ID
	if other.sessions()[0].UserAgent != "Other/9.9" {
		id = other.sessions()[1].ID
	}
	r := a.Do("POST", "/.mfa/sessions/"+id+"/end", url.Values{"csrf_token": {csrf}})
	if r.StatusCode != http.StatusOK || !strings.Contains(string(r.Body), "That browser is signed out.") || e.signedInAs(other) != "" {
		t.Fatalf("ending from the page: %d", r.StatusCode)
	}
}
