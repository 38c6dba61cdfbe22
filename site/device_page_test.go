package site_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestDevicePageSendsStrangersToSignIn: the link a terminal shows survives the sign-in.
func TestDevicePageSendsStrangersToSignIn(t *testing.T) {
	e := newEnv(t)
	dc := e.authorize(nil)
	r := e.Client().Do("GET", "/.mfa/device?code="+dc.UserCode, nil)
	want := "/.mfa/login?return=" + url.QueryEscape("/.mfa/device?code="+dc.UserCode)
	if r.StatusCode != http.StatusFound || r.Header.Get("Location") != want {
		t.Fatalf("signed out: %d %q, want %q", r.StatusCode, r.Header.Get("Location"), want)
	}
	if r := e.Client().Do("POST", "/.mfa/device", url.Values{"code": {dc.UserCode}, "decision": {"approve"}}); r.StatusCode != http.StatusFound {
		t.Fatalf("a form signed out: %d", r.StatusCode)
	}
}

func TestDevicePageShowsAndApproves(t *testing.T) {
	e := newEnv(t)
	dc := e.authorize(map[string]any{"client_name": "<b>laptop</b>", "duration_seconds": 5400})
	alice := e.enrolledAlice()
	r := alice.Do("GET", "/.mfa/device", nil)
	if r.StatusCode != http.StatusOK || !strings.Contains(string(r.Body), `<label for="code">Code</label>`) {
		t.Fatalf("the code form: %d %s", r.StatusCode, r.Body)
	}
	r = alice.Do("GET", "/.mfa/device?code="+url.QueryEscape(strings.ToLower(dc.UserCode)), nil, "Sec-Fetch-Site", "none")
	page := string(r.Body)
	for _, want := range []string{dc.UserCode, "&lt;b&gt;laptop&lt;/b&gt;", "<dt>For site</dt><dd class=\"wrap\"><code>127.0.0.1</code>", "<dt>From address</dt><dd><code>127.0.0.1</code>", "90 minutes", "2026-11-29", `value="approve"`, `value="deny"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(page, "<b>laptop") {
		t.Fatal("the client name was not escaped")
	}
	form := url.Values{"code": {dc.UserCode}, "decision": {"approve"}, "csrf_token": {"wrong"}}
	if r := alice.Do("POST", "/.mfa/device", form); r.StatusCode != http.StatusForbidden {
		t.Fatalf("wrong CSRF: %d", r.StatusCode)
	}
	form.Set("csrf_token", alice.CSRF)
	if r := alice.Do("POST", "/.mfa/device", form, "Sec-Fetch-Site", "cross-site"); r.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site: %d", r.StatusCode)
	}
	r = alice.Do("POST", "/.mfa/device", form)
	if r.StatusCode != http.StatusOK || !strings.Contains(string(r.Body), "Approved") || !strings.Contains(string(r.Body), "90 minutes") {
		t.Fatalf("approve: %d %s", r.StatusCode, r.Body)
	}
	e.Clock.Advance(10 * time.Second)
	e.expectPoll(dc.DeviceCode, http.StatusOK, "")
}

// TestDevicePageStepsUpThroughVerify: a stale factor gets no Approve button but the way to
// the verify page and back; a wrong code is said in the card, with the code kept.
func TestDevicePageStepsUpThroughVerify(t *testing.T) {
	e := newEnv(t)
	dc := e.authorize(nil)
	alice := e.enrolledAlice()
	e.Clock.Advance(6 * time.Minute)
	page := string(alice.Do("GET", "/.mfa/device?code="+dc.UserCode, nil, "Sec-Fetch-Site", "same-origin").Body)
	back := url.QueryEscape("/.mfa/device?code=" + dc.UserCode)
	if strings.Contains(page, `value="approve"`) || !strings.Contains(strings.ToLower(page), strings.ToLower(`href="/.mfa/verify?return=`+back+`"`)) {
		t.Fatalf("stale factor: %s", page)
	}
	r := alice.Do("POST", "/.mfa/device", url.Values{"code": {dc.UserCode}, "decision": {"approve"}, "csrf_token": {alice.CSRF}})
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(string(r.Body), "within the last 5 minutes") ||
		!strings.Contains(string(r.Body), `value="deny"`) {
		t.Fatalf("approve with a stale factor: %d %s", r.StatusCode, r.Body)
	}
	r = alice.Do("GET", "/.mfa/device?code=BCDF-GHJX", nil, "Sec-Fetch-Site", "none")
	if r.StatusCode != http.StatusNotFound || !strings.Contains(string(r.Body), `<p class="field-error" id="field-error">`) ||
		!strings.Contains(string(r.Body), `aria-invalid="true" aria-describedby="field-error" autofocus`) || !strings.Contains(string(r.Body), `value="BCDF-GHJX"`) {
		t.Fatalf("a wrong code: %d %s", r.StatusCode, r.Body)
	}
	r = alice.Do("POST", "/.mfa/device", url.Values{"code": {dc.UserCode}, "decision": {"deny"}, "csrf_token": {alice.CSRF}})
	if r.StatusCode != http.StatusOK || !strings.Contains(string(r.Body), "denied") {
		t.Fatalf("deny: %d %s", r.StatusCode, r.Body)
	}
	e.expectPoll(dc.DeviceCode, http.StatusBadRequest, "access_denied")
}

// TestAnotherSitesLinkOnlyFillsTheForm: a link on another site cannot spend the user's lockout
// with wrong codes, nor show a request without the user pressing Continue; nor can one followed
// by a browser that does not say where it came from.
func TestAnotherSitesLinkOnlyFillsTheForm(t *testing.T) {
	e := newEnv(t)
	dc := e.authorize(nil)
	alice := e.enrolledAlice()
	for _, site := range []string{"cross-site", "same-site", "", "None", "same-origin, none"} {
		for _, code := range []string{"BCDF-GHJX", "ZZZZ-ZZZZ", "XXXX-XXXX", dc.UserCode} {
			r := alice.Do("GET", "/.mfa/device?code="+code, nil, "Sec-Fetch-Site", site)
			if r.StatusCode != http.StatusOK || !strings.Contains(string(r.Body), `value="`+code+`"`) || strings.Contains(string(r.Body), "dl class=\"facts\"") {
				t.Fatalf("%s link with %s: %d %s", site, code, r.StatusCode, r.Body)
			}
		}
	}
	if e.Events("device_code_failed") != 0 {
		t.Fatal("another site's links counted toward the lockout")
	}
	for _, site := range []string{"none", "same-origin"} {
		r := alice.Do("GET", "/.mfa/device?code="+dc.UserCode, nil, "Sec-Fetch-Site", site)
		if !strings.Contains(string(r.Body), `dl class="facts"`) {
			t.Fatalf("Sec-Fetch-Site %q: the request is not shown", site)
		}
	}
}
