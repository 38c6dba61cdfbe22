package site_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/auth"
)

// TestDeviceApprovalNeedsABrowserSession: no session, a wrong CSRF token, another site, an API
// credential: each is refused and the grant still waits.
func TestDeviceApprovalNeedsABrowserSession(t *testing.T) {
	e := newEnv(t)
	dc := e.authorize(nil)
	alice := e.enrolledAlice()
	body := map[string]any{"user_code": dc.UserCode, "approve": true}
	tok := e.tokenFor(alice, e.authorize(nil))
	for name, r := range map[string]*response{
		"no session":   e.Client().Do("POST", "/.mfa/api/device/approve", body),
		"no CSRF":      alice.Do("POST", "/.mfa/api/device/approve", body, "X-CSRF-Token", ""),
		"wrong CSRF":   alice.Do("POST", "/.mfa/api/device/approve", body, "X-CSRF-Token", alice.CSRF+"x"),
		"cross-site":   alice.Do("POST", "/.mfa/api/device/approve", body, "Sec-Fetch-Site", "cross-site"),
		"other origin": alice.Do("POST", "/.mfa/api/device/approve", body, "Origin", "https://evil.example"),
		"bearer token": e.Client().Do("POST", "/.mfa/api/device/approve", body, bearer(tok)...),
		"no decision":  alice.Do("POST", "/.mfa/api/device/approve", map[string]any{"user_code": dc.UserCode}),
	} {
		if r.StatusCode < 400 || r.StatusCode >= 500 {
			t.Errorf("%s: %d %s", name, r.StatusCode, r.Body)
		}
	}
	e.Clock.Advance(10 * time.Second)
	e.expectPoll(dc.DeviceCode, http.StatusBadRequest, "authorization_pending")
}

// tokenFor approves dc as c and redeems it.
func (e *env) tokenFor(c *client, dc deviceCodes) string {
	e.T.Helper()
	if r := approve(c, dc.UserCode, true); r.StatusCode != http.StatusOK {
		e.T.Fatalf("approve: %d %s", r.StatusCode, r.Body)
	}
	return e.expectPoll(dc.DeviceCode, http.StatusOK, "").SessionToken
}

// TestDeviceApprovalNeedsAFreshFactor: older than 5 minutes, or a remembered browser, is not
// enough to approve (denying needs none).
func TestDeviceApprovalNeedsAFreshFactor(t *testing.T) {
	e, secret := rememberedEnv(t)
	dc := e.authorize(nil)
	again := e.remembered(secret)
	if r := again.Login("alice", testPassword); r.StatusCode != http.StatusOK {
		t.Fatalf("remembered sign-in: %d", r.StatusCode)
	}
	if r := approve(again, dc.UserCode, true); r.StatusCode != http.StatusUnauthorized || r.ErrorCode() != auth.CodeMFARequired ||
		!strings.Contains(string(r.Body), "remembered browser") {
		t.Fatalf("remembered browser: %d %s", r.StatusCode, r.Body)
	}
	alice := e.Client()
	alice.Login("alice", testPassword)
	e.Clock.Advance(30 * time.Second)
	r := alice.Do("POST", "/.mfa/api/verify", map[string]any{"code": e.Code(secret, 0)})
	var vr struct {
		CSRFToken string `json:"csrf_token"`
	}
	r.JSON(&vr)
	alice.CSRF = vr.CSRFToken
	if r := approve(alice, dc.UserCode, true); r.StatusCode != http.StatusOK {
		t.Fatalf("a code just now: %d %s", r.StatusCode, r.Body)
	}
	dc = e.authorize(nil)
	e.Clock.Advance(5*time.Minute + time.Second)
	if r := approve(alice, dc.UserCode, true); r.StatusCode != http.StatusUnauthorized || r.ErrorCode() != auth.CodeMFARequired {
		t.Fatalf("a factor 5 minutes old: %d %s", r.StatusCode, r.Body)
	}
	if r := approve(alice, dc.UserCode, false); r.StatusCode != http.StatusOK {
		t.Fatalf("deny: %d %s", r.StatusCode, r.Body)
	}
}

// TestWrongUserCodesCountTowardTheLockout: guessing user codes is guessing a factor; the lock
// then holds for every factor of the user, and a right code waits too.
func TestWrongUserCodesCountTowardTheLockout(t *testing.T) {
	e := newEnv(t)
	dc := e.authorize(nil)
	alice := e.enrolledAlice()
	for i, guess := range []string{"BCDF-GHJK", "bcdf ghjl", "XXXX-XXXX"} {
		if guess == dc.UserCode {
			continue
		}
		if r := approve(alice, guess, i%2 == 0); r.StatusCode != http.StatusNotFound {
			t.Fatalf("guess %d: %d %s", i+1, r.StatusCode, r.Body)
		}
	}
	r := approve(alice, dc.UserCode, true)
	if r.StatusCode != http.StatusTooManyRequests || r.ErrorCode() != auth.CodeThrottled || r.Header.Get("Retry-After") == "" {
		t.Fatalf("the right code after 3 wrong: %d %s", r.StatusCode, r.Body)
	}
	if r := alice.Do("POST", "/.mfa/api/verify", map[string]string{"code": "123456"}); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a TOTP code while locked: %d %s", r.StatusCode, r.Body)
	}
	if e.Events("device_code_failed") != 3 || e.Events("user_locked") != 1 {
		t.Fatalf("audit: %d device_code_failed, %d user_locked", e.Events("device_code_failed"), e.Events("user_locked"))
	}
}

// TestRightCodesDoNotCount: looking at and deciding real codes leaves the count alone.
func TestRightCodesDoNotCount(t *testing.T) {
	e := newEnv(t)
	alice := e.enrolledAlice()
	for range 5 {
		dc := e.authorize(nil)
		if r := alice.Do("GET", "/.mfa/device?code="+dc.UserCode, nil, "Sec-Fetch-Site", "none"); r.StatusCode != http.StatusOK {
			t.Fatalf("page: %d", r.StatusCode)
		}
		if r := approve(alice, dc.UserCode, false); r.StatusCode != http.StatusOK {
			t.Fatalf("deny: %d %s", r.StatusCode, r.Body)
		}
	}
}

// TestSignOutVoidsAnApproval: an approval made by a sign-in that ended before the poll buys
// no token.
func TestSignOutVoidsAnApproval(t *testing.T) {
	e := newEnv(t)
	dc := e.authorize(nil)
	alice := e.enrolledAlice()
	approve(alice, dc.UserCode, true)
	if r := alice.Do("POST", "/.mfa/api/logout", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("logout: %d", r.StatusCode)
	}
	e.expectPoll(dc.DeviceCode, http.StatusBadRequest, "access_denied")
}

// TestParallelPollsGetOneToken: many clients polling one approved code at once: one token.
func TestParallelPollsGetOneToken(t *testing.T) {
	e := newEnv(t)
	dc := e.authorize(nil)
	approve(e.enrolledAlice(), dc.UserCode, true)
	var mu sync.Mutex
	tokens := 0
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			status, tok := e.poll(dc.DeviceCode)
			mu.Lock()
			defer mu.Unlock()
			if status == http.StatusOK && tok.SessionToken != "" {
				tokens++
			} else if tok.Error != "invalid_grant" {
				t.Errorf("poll: %d %+v", status, tok)
			}
		})
	}
	wg.Wait()
	if tokens != 1 {
		t.Fatalf("%d tokens, want 1", tokens)
	}
}

// TestADeviceGrantsTokenIsForThePollingSite: the token a command-line sign-in redeems is bound
// to the site that answered the poll, as GetSessionToken's is: another site refuses it.
func TestADeviceGrantsTokenIsForThePollingSite(t *testing.T) {
	e := newEnv(t)
	tok := e.tokenFor(e.enrolledAlice(), e.authorize(nil))
	if r := atHost(e, e.Server.URL, "127.0.0.1", "/.mfa/api/whoami", tok); r.StatusCode != http.StatusOK {
		t.Fatalf("at its own site: %d %s", r.StatusCode, r.Body)
	}
	for _, host := range []string{"other.example", "localhost", "127.0.0.2"} {
		r := atHost(e, e.Server.URL, host, "/.mfa/api/whoami", tok)
		if r.StatusCode != http.StatusUnauthorized || !strings.Contains(string(r.Body), "the token is for another site") {
			t.Errorf("at %q: %d %s", host, r.StatusCode, r.Body)
		}
	}
}

// TestADeviceGrantIsRedeemedOnlyWhereItWasAsked: the approver saw the site the grant was asked
// at; a poll at another site of the gateway (another Host) gets no token, and spends the grant.
func TestADeviceGrantIsRedeemedOnlyWhereItWasAsked(t *testing.T) {
	for _, host := range []string{"other.example", "localhost", "127.0.0.2", "OTHER.example:8080"} {
		e := newEnv(t)
		dc := e.authorize(nil)
		approve(e.enrolledAlice(), dc.UserCode, true)
		c := e.Client()
		req := c.Request("POST", "/.mfa/api/device/token", map[string]string{"device_code": dc.DeviceCode})
		req.Host = host
		r, err := c.Send(req)
		if err != nil {
			t.Fatal(err)
		}
		var tok deviceToken
		r.JSON(&tok)
		if r.StatusCode != http.StatusBadRequest || tok.Error != "invalid_grant" || tok.SessionToken != "" {
			t.Errorf("polled at %q: %d %+v", host, r.StatusCode, tok)
		}
		e.expectPoll(dc.DeviceCode, http.StatusBadRequest, "invalid_grant")
	}
}
