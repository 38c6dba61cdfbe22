package site_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// The security-key script registers through the API, then posts the codes form with the CSRF
// token of the session the key's answer started.
func TestFirstSecurityKeyEndsOnRecoveryCodes(t *testing.T) {
	e := newEnv(t, withWebAuthn)
	c := e.Client()
	c.Login("alice", testPassword)
	var finish struct {
		Serial    string `json:"serial"`
		CSRFToken string `json:"csrf_token"`
	}
	c.registerKey(e.newSoftKey(), "key").JSON(&finish)
	if finish.CSRFToken == "" {
		t.Fatal("the first key's answer carries no new session")
	}
	r := c.Do("POST", "/.mfa/recovery-codes/first", url.Values{"csrf_token": {finish.CSRFToken}, "serial": {finish.Serial}, "return": {"/app"}, "enrolling": {"1"}})
	if codes := recoveryCodesOf(t, r.Body); r.StatusCode != http.StatusOK || len(codes) != 10 || continueOf(t, r.Body) != "/app" {
		t.Fatalf("codes after the first key: %d, %d codes", r.StatusCode, len(codes))
	}
	if !strings.Contains(string(r.Body), "Security key “key” is registered") {
		t.Fatal("the codes page does not name the key")
	}
}

func TestFirstHardwareTokenEndsOnRecoveryCodes(t *testing.T) {
	e := newEnv(t)
	e.importToken("GAHT77777777")
	c := e.Client()
	c.Do("POST", "/.mfa/login", url.Values{"username": {"alice"}, "password": {testPassword}})
	csrf := match(t, csrfField, c.Do("GET", "/.mfa/devices", nil).Body)
	r := c.Do("POST", "/.mfa/devices/hardware", url.Values{"serial": {"GAHT77777777"}, "csrf_token": {csrf}, "return": {"/app"},
		"code1": {e.Code(tokenSecret, -1)}, "code2": {e.Code(tokenSecret, 0)}})
	if codes := recoveryCodesOf(t, r.Body); r.StatusCode != http.StatusOK || len(codes) != 10 || continueOf(t, r.Body) != "/app" {
		t.Fatalf("codes after the first token: %d, %d codes", r.StatusCode, len(codes))
	}
}

// The codes form issues codes only with a fresh factor passed with a device, and only to a
// user who has none; a forged or replayed post gets nothing.
func TestFirstCodesFormRefusals(t *testing.T) {
	e := newEnv(t)
	remaining := func() int {
		n, err := e.Ops.Recovery.Remaining(t.Context(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	post := func(c *client, csrf string) *response {
		return c.Do("POST", "/.mfa/recovery-codes/first", url.Values{"csrf_token": {csrf}, "return": {"/app"}})
	}
	c := e.Client()
	c.Do("POST", "/.mfa/login", url.Values{"username": {"alice"}, "password": {testPassword}})
	csrf := match(t, csrfField, c.Do("GET", "/.mfa/devices", nil).Body)
	if r := post(c, csrf); r.StatusCode != http.StatusUnauthorized || recoveryCode.Match(r.Body) || remaining() != 0 {
		t.Fatalf("without a factor: %d, %d codes", r.StatusCode, remaining())
	}
	api := e.Client()
	api.Login("alice", testPassword)
	api.Enrol("phone") // through the API: a factor, no codes
	page := api.Do("GET", "/.mfa/devices", nil)
	csrf = match(t, csrfField, page.Body)
	for _, forged := range []string{"", "x", strings.ToUpper(csrf), csrf + "A", api.CSRF + " "} {
		if r := post(api, forged); r.StatusCode != http.StatusForbidden || remaining() != 0 {
			t.Fatalf("CSRF %q: %d, %d codes", forged, r.StatusCode, remaining())
		}
	}
	e.Clock.Advance(16 * time.Minute)
	if r := post(api, csrf); r.StatusCode != http.StatusUnauthorized || remaining() != 0 {
		t.Fatalf("a stale factor: %d, %d codes", r.StatusCode, remaining())
	}
}

// Many posts at once, from a user who just passed a factor: one page shows codes, and they are
// the ones that work.
func TestFirstCodesRacingPostsShowOneSet(t *testing.T) {
	e := newEnv(t)
	c := e.Client()
	c.Login("alice", testPassword)
	c.Enrol("phone")
	csrf := match(t, csrfField, c.Do("GET", "/.mfa/devices", nil).Body)
	var wg sync.WaitGroup
	answers := make([]*response, 8)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := c.Request("POST", "/.mfa/recovery-codes/first", url.Values{"csrf_token": {csrf}, "return": {"/app"}})
			r, err := c.Send(req)
			if err != nil {
				t.Error(err)
			}
			answers[i] = r
		}()
	}
	wg.Wait()
	var shown []*response
	for _, r := range answers {
		switch {
		case r.StatusCode == http.StatusOK && recoveryCode.Match(r.Body):
			shown = append(shown, r)
		case r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/app":
			t.Fatalf("a racing post: %d %q", r.StatusCode, r.Header.Get("Location"))
		}
	}
	if len(shown) != 1 {
		t.Fatalf("%d pages showed codes, want 1", len(shown))
	}
	if r := e.signInWithRecovery(t, recoveryCodesOf(t, shown[0].Body)[0]); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("the shown code: %d", r.StatusCode)
	}
}

func TestFirstSMSPhoneEndsOnRecoveryCodes(t *testing.T) {
	receiver := &smsReceiver{}
	e := newEnv(t, withEveryDevice(t, receiver))
	c := e.Client()
	c.Do("POST", "/.mfa/login", url.Values{"username": {"alice"}, "password": {testPassword}})
	csrf := match(t, csrfField, c.Do("GET", "/.mfa/devices", nil).Body)
	sent := c.Do("POST", "/.mfa/devices/sms", url.Values{"csrf_token": {csrf}, "name": {"mobile"}, "phone": {"+15551234567"}, "return": {"/app"}})
	r := c.Do("POST", match(t, enableForm, sent.Body), url.Values{"csrf_token": {csrf}, "code1": {receiver.lastCode(t, "+15551234567")}, "return": {"/app"}})
	if codes := recoveryCodesOf(t, r.Body); r.StatusCode != http.StatusOK || len(codes) != 10 || continueOf(t, r.Body) != "/app" {
		t.Fatalf("codes after the first phone: %d, %d codes", r.StatusCode, len(codes))
	}
}
