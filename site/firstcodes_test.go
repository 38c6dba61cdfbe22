package site_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/gate"
)

var (
	recoveryCode = regexp.MustCompile(`<code class="secret">([A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4})</code>`)
	continueLink = regexp.MustCompile(`<a class="button" id="done" href="([^"]*)">Continue</a>`)
	downloadLink = regexp.MustCompile(`href="(data:text/plain;charset=utf-8,[^"]+)" download="recovery-codes.txt"`)
)

// recoveryCodesOf reads the codes page: ten distinct codes, each in the .txt download too.
func recoveryCodesOf(t *testing.T, body []byte) []string {
	t.Helper()
	var codes []string
	seen := map[string]bool{}
	for _, m := range recoveryCode.FindAllSubmatch(body, -1) {
		code := string(m[1])
		if seen[code] {
			t.Fatalf("code %s shown twice", code)
		}
		seen[code] = true
		codes = append(codes, code)
	}
	text, err := url.PathUnescape(match(t, downloadLink, body)[len("data:text/plain;charset=utf-8,"):])
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range codes {
		if !strings.Contains(text, code) {
			t.Fatalf("the download lacks %s", code)
		}
	}
	return codes
}

func continueOf(t *testing.T, body []byte) string { return match(t, continueLink, body) }

// signInWithRecovery signs alice in on a new browser with code; it answers the verify form.
func (e *env) signInWithRecovery(t *testing.T, code string) *response {
	t.Helper()
	c := e.Client()
	c.Do("POST", "/.mfa/login", url.Values{"username": {"alice"}, "password": {testPassword}})
	page := c.Do("GET", "/.mfa/verify?return=/app", nil)
	return c.Do("POST", "/.mfa/verify", url.Values{"code": {code}, "csrf_token": {match(t, csrfField, page.Body)}, "return": {"/app"}})
}

// enrolByForms signs alice in and adds a virtual device through the forms, as a browser without
// scripts does; it answers the enable form.
func (e *env) enrolByForms(t *testing.T, c *client, name, back string) *response {
	t.Helper()
	csrf := match(t, csrfField, c.Do("GET", "/.mfa/devices", nil).Body)
	r := c.Do("POST", "/.mfa/devices/virtual", url.Values{"name": {name}, "csrf_token": {csrf}, "return": {back}})
	secret, action := match(t, secretField, r.Body), match(t, enableForm, r.Body)
	e.Clock.Advance(30 * time.Second)
	return c.Do("POST", action, url.Values{"code1": {e.Code(secret, -1)}, "code2": {e.Code(secret, 0)}, "csrf_token": {csrf}, "return": {back}})
}

func TestFirstEnrolmentEndsOnTenRecoveryCodesThatWorkOnce(t *testing.T) {
	e := newEnv(t)
	c := e.Client()
	c.Do("POST", "/.mfa/login", url.Values{"username": {"alice"}, "password": {testPassword}})
	r := e.enrolByForms(t, c, "phone", "/app?x=1")
	codes := recoveryCodesOf(t, r.Body)
	if r.StatusCode != http.StatusOK || len(codes) != 10 || continueOf(t, r.Body) != "/app?x=1" {
		t.Fatalf("first enrolment: %d, %d codes, continue %q", r.StatusCode, len(codes), continueOf(t, r.Body))
	}
	if !strings.Contains(string(r.Body), "“phone” is enabled") || strings.Count(string(r.Body), "Copy all") != 1 || !strings.Contains(string(r.Body), "data-print") {
		t.Fatalf("the codes page names the device and offers Copy all and Print:\n%s", r.Body)
	}
	devices := c.Do("GET", "/.mfa/devices", nil)
	if !strings.Contains(string(devices.Body), "You have <strong>10</strong> unused") {
		t.Fatal("the devices page does not count the ten codes")
	}
	// Posting the codes form again, or adding a second device, shows no codes, old or new.
	csrf := match(t, csrfField, devices.Body)
	again := c.Do("POST", "/.mfa/recovery-codes/first", url.Values{"csrf_token": {csrf}, "return": {"/app"}})
	if again.StatusCode != http.StatusSeeOther || again.Header.Get("Location") != "/app" {
		t.Fatalf("codes asked again: %d %q", again.StatusCode, again.Header.Get("Location"))
	}
	second := e.enrolByForms(t, c, "tablet", "/app")
	if second.StatusCode != http.StatusSeeOther || recoveryCode.Match(second.Body) {
		t.Fatalf("a second device: %d", second.StatusCode)
	}
	for i, code := range codes {
		variant := code
		if i%2 == 1 {
			variant = strings.ToLower(strings.ReplaceAll(code, "-", " "))
		}
		if r := e.signInWithRecovery(t, variant); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("code %d: %d", i, r.StatusCode)
		}
		if r := e.signInWithRecovery(t, code); r.StatusCode != http.StatusForbidden {
			t.Fatalf("code %d used twice: %d", i, r.StatusCode)
		}
	}
	if !strings.Contains(string(c.Do("GET", "/.mfa/devices", nil).Body), `id="recovery-none"`) {
		t.Fatal("no codes left, and the devices page does not warn")
	}
}

// A user adding a device of their own accord, with no return path, goes on to the devices page
// naming the device.
func TestFirstCodesContinueToTheDevicesPage(t *testing.T) {
	e := newEnv(t, func(_ *gate.Options, c *auth.Config, _ *auth.Deps) { c.EnrollmentRequired = false })
	c := e.Client()
	c.Do("POST", "/.mfa/login", url.Values{"username": {"alice"}, "password": {testPassword}})
	r := e.enrolByForms(t, c, "phone", "")
	next := continueOf(t, r.Body)
	if !strings.HasPrefix(next, "/.mfa/devices?added=") {
		t.Fatalf("continue: %q", next)
	}
	if page := c.Do("GET", html.UnescapeString(next), nil); !strings.Contains(string(page.Body), "“phone” is enabled") {
		t.Fatal("the devices page does not name the new device")
	}
}
