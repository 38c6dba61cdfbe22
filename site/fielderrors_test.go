package site_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// A failed form, drawn again: the inputs at fault, the one focused, the message beside them.

var (
	inputTag  = regexp.MustCompile(`<input[^>]*>`)
	attrOf    = func(name string) *regexp.Regexp { return regexp.MustCompile(`\s` + name + `(?:="([^"]*)")?[\s>]`) }
	idAttr    = attrOf("id")
	fieldNote = regexp.MustCompile(`<p class="field-error" id="field-error">([^<]*)</p>`)
)

// failedForm is what a page says about its failed form.
type failedForm struct {
	invalid   []string          // ids of the inputs marked aria-invalid, in page order
	focused   []string          // ids of the inputs with autofocus
	described []string          // what the invalid inputs' aria-describedby name
	message   string            // the text of the field's message
	sameForm  bool              // the message sits in the form of the first invalid input
	values    map[string]string // value of every text input, by id
}

func readFailedForm(body string) failedForm {
	var f failedForm
	f.values = map[string]string{}
	for _, loc := range inputTag.FindAllStringIndex(body, -1) {
		tag := body[loc[0]:loc[1]]
		id := ""
		if m := idAttr.FindStringSubmatch(tag); m != nil {
			id = m[1]
		}
		if m := attrOf("value").FindStringSubmatch(tag); m != nil && id != "" {
			f.values[id] = html.UnescapeString(m[1])
		}
		if strings.Contains(tag, ` aria-invalid="true"`) {
			f.invalid = append(f.invalid, html.UnescapeString(id))
			f.described = append(f.described, attrOf("aria-describedby").FindStringSubmatch(tag)[1])
			if len(f.invalid) == 1 {
				start, end := strings.LastIndex(body[:loc[0]], "<form"), strings.Index(body[loc[1]:], "</form>")
				f.sameForm = start >= 0 && end >= 0 && fieldNote.MatchString(body[start:loc[1]+end])
			}
		}
		if attrOf("autofocus").MatchString(tag) {
			f.focused = append(f.focused, html.UnescapeString(id))
		}
	}
	if ms := fieldNote.FindAllStringSubmatch(body, -1); len(ms) == 1 {
		f.message = html.UnescapeString(ms[0][1])
	}
	return f
}

func TestFailedFormsPointAtTheirField(t *testing.T) {
	for _, tc := range fieldErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.run(t)
			body := string(r.Body)
			f := readFailedForm(body)
			if r.StatusCode != tc.status {
				t.Errorf("status %d, want %d", r.StatusCode, tc.status)
			}
			if !sameSet(f.invalid, tc.invalid) {
				t.Errorf("invalid inputs %q, want %q", f.invalid, tc.invalid)
			}
			if len(f.focused) != 1 || f.focused[0] != tc.invalid[0] {
				t.Errorf("autofocus on %q, want %q alone", f.focused, tc.invalid[0])
			}
			for _, d := range f.described {
				if d != "field-error" {
					t.Errorf("aria-describedby %q, not the message's id", d)
				}
			}
			if !strings.Contains(f.message, tc.message) || !f.sameForm {
				t.Errorf("message %q (in the form: %v), want %q", f.message, f.sameForm, tc.message)
			}
			if strings.Contains(body, `class="error" role="alert"`) {
				t.Error("a banner too")
			}
			for id, want := range tc.kept {
				if f.values[id] != want {
					t.Errorf("#%s keeps %q, want %q", id, f.values[id], want)
				}
			}
			for _, secret := range tc.notEchoed {
				if strings.Contains(body, secret) {
					t.Errorf("the page echoes %q", secret)
				}
			}
			if tc.open != nil && !tc.open.MatchString(body) {
				t.Errorf("not open: %s", tc.open)
			}
		})
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// fieldErrorCase is one failed form: how to fail it, and what the page must then say.
type fieldErrorCase struct {
	name      string
	run       func(t *testing.T) *response
	status    int
	invalid   []string // the inputs at fault, the focused one first
	message   string
	kept      map[string]string
	notEchoed []string
	open      *regexp.Regexp // a <details> that must be open, or a box still ticked
}

// postForm signs alice in through a fresh env's sign-in form, readies it with prepare, and
// posts values (with the page's CSRF token) to path.
func postForm(t *testing.T, opts []envOption, prepare func(e *env, c *client), page, path string, values url.Values) *response {
	e := newEnv(t, opts...)
	c := e.Client()
	if prepare != nil {
		prepare(e, c)
	}
	c.Do("POST", "/.mfa/login", url.Values{"username": {"alice"}, "password": {testPassword}})
	values.Set("csrf_token", match(t, csrfField, c.Do("GET", page, nil).Body))
	return c.Do("POST", path, values)
}

// enrolledByAPI gives alice a device "phone" from another browser, so this one must verify.
func enrolledByAPI(e *env, _ *client) {
	other := e.Client()
	other.Login("alice", testPassword)
	other.Enrol("phone")
}

const phoneSerial = "caddy-mfa:alice:phone" // the serial of enrolledByAPI's device

func withToken(e *env, _ *client) { e.importToken("GAHT77777777") }

// smsPending posts the SMS form (name mobile, a good number), then the form of its code.
func smsPending(t *testing.T, code string) *response {
	e := newEnv(t, withEveryDevice(t, &smsReceiver{}))
	c := e.Client()
	c.Do("POST", "/.mfa/login", url.Values{"username": {"alice"}, "password": {testPassword}})
	csrf := match(t, csrfField, c.Do("GET", "/.mfa/devices", nil).Body)
	sent := c.Do("POST", "/.mfa/devices/sms", url.Values{"csrf_token": {csrf}, "name": {"mobile"}, "phone": {"+15551234567"}})
	action := match(t, regexp.MustCompile(`action="(/\.mfa/devices/[^"]+/enable)"`), sent.Body)
	return c.Do("POST", action, url.Values{"csrf_token": {csrf}, "code1": {code}})
}

// enrolForm opens the enrolment page of a new device "phone" and posts codes to its form.
func enrolForm(t *testing.T, code1, code2 string) *response {
	e := newEnv(t)
	c := e.Client()
	c.Do("POST", "/.mfa/login", url.Values{"username": {"alice"}, "password": {testPassword}})
	csrf := match(t, csrfField, c.Do("GET", "/.mfa/devices", nil).Body)
	page := c.Do("POST", "/.mfa/devices/virtual", url.Values{"csrf_token": {csrf}, "name": {"phone"}})
	return c.Do("POST", match(t, enableForm, page.Body), url.Values{"csrf_token": {csrf}, "code1": {code1}, "code2": {code2}})
}

var fieldErrorCases = []fieldErrorCase{
	{name: "sign-in, wrong password", status: http.StatusUnauthorized, invalid: []string{"password", "username"},
		message: "That user name and password don't match.", kept: map[string]string{"username": "alice"}, notEchoed: []string{"Wr0ng-pass-7731"},
		run: func(t *testing.T) *response {
			return newEnv(t).Client().Do("POST", "/.mfa/login", url.Values{"username": {"alice"}, "password": {"Wr0ng-pass-7731"}})
		}},
	{name: "sign-in, no password", status: http.StatusBadRequest, invalid: []string{"password"},
		message: "Type your password.", kept: map[string]string{"username": "alice"},
		run: func(t *testing.T) *response {
			return newEnv(t).Client().Do("POST", "/.mfa/login", url.Values{"username": {"alice"}})
		}},
	{name: "sign-in, no user name", status: http.StatusBadRequest, invalid: []string{"username"},
		message: "Type your user name.", notEchoed: []string{"Wr0ng-pass-7731"},
		run: func(t *testing.T) *response {
			return newEnv(t).Client().Do("POST", "/.mfa/login", url.Values{"password": {"Wr0ng-pass-7731"}})
		}},
	{name: "verify, wrong code", status: http.StatusForbidden, invalid: []string{"code"},
		message: "That code didn't work. Use the current code from “phone”.", notEchoed: []string{"424242"},
		run: func(t *testing.T) *response {
			return postForm(t, nil, enrolledByAPI, "/.mfa/verify", "/.mfa/verify", url.Values{"code": {"424242"}, "serial": {phoneSerial}})
		}},
	{name: "verify, wrong code, remember ticked", status: http.StatusForbidden, invalid: []string{"code"},
		message: "That code didn't work.", notEchoed: []string{"424242"},
		open: regexp.MustCompile(`name="remember" value="1" checked`),
		run: func(t *testing.T) *response {
			return postForm(t, nil, func(e *env, c *client) { e.Remember(time.Hour); enrolledByAPI(e, c) }, "/.mfa/verify", "/.mfa/verify",
				url.Values{"code": {"424242"}, "remember": {"1"}})
		}},
	{name: "verify, wrong recovery code", status: http.StatusForbidden, invalid: []string{"recovery"},
		message: "That recovery code is wrong or already used.", notEchoed: []string{"QQQQ-RRRR-SSSS-TTTT"},
		open: regexp.MustCompile(`<details open>\s*<summary>Lost your device\?</summary>`),
		run: func(t *testing.T) *response {
			return postForm(t, nil, enrolledByAPI, "/.mfa/verify", "/.mfa/verify", url.Values{"code": {"QQQQ-RRRR-SSSS-TTTT"}, "via": {"recovery"}})
		}},
	{name: "enrolment, wrong pair", status: http.StatusForbidden, invalid: []string{"code1", "code2"},
		message: "Those codes didn't work. Type the code “phone” shows now", notEchoed: []string{"313131", "424242"},
		run: func(t *testing.T) *response { return enrolForm(t, "313131", "424242") }},
	{name: "resync, wrong pair", status: http.StatusForbidden, invalid: []string{"resync1-" + phoneSerial, "resync2-" + phoneSerial},
		message: "Those codes didn't work. Type two codes in a row from “phone”.", notEchoed: []string{"313131", "424242"},
		open: regexp.MustCompile(`<details open><summary>Manage “phone”</summary>`),
		run: func(t *testing.T) *response {
			return postForm(t, nil, enrolledByAPI, "/.mfa/devices", "/.mfa/devices/"+phoneSerial+"/resync", url.Values{"code1": {"313131"}, "code2": {"424242"}})
		}},
	{name: "hardware token, wrong pair", status: http.StatusForbidden, invalid: []string{"hw1", "hw2"},
		message: "Those codes didn't work. Type two codes in a row from the token.", kept: map[string]string{"serial": "GAHT77777777"}, notEchoed: []string{"313131", "424242"},
		run: func(t *testing.T) *response {
			return postForm(t, nil, withToken, "/.mfa/devices", "/.mfa/devices/hardware", url.Values{"serial": {"GAHT77777777"}, "code1": {"313131"}, "code2": {"424242"}})
		}},
	{name: "hardware token, unknown serial", status: http.StatusNotFound, invalid: []string{"serial"},
		message: "No token with that serial number", kept: map[string]string{"serial": "GAHT00000099"}, notEchoed: []string{"313131"},
		run: func(t *testing.T) *response {
			return postForm(t, nil, withToken, "/.mfa/devices", "/.mfa/devices/hardware", url.Values{"serial": {"GAHT00000099"}, "code1": {"313131"}, "code2": {"424242"}})
		}},
	{name: "virtual device, bad name", status: http.StatusBadRequest, invalid: []string{"name"},
		message: "for the name, without spaces", kept: map[string]string{"name": "my phone"},
		run: func(t *testing.T) *response {
			return postForm(t, nil, nil, "/.mfa/devices", "/.mfa/devices/virtual", url.Values{"name": {"my phone"}})
		}},
	{name: "SMS, bad number", status: http.StatusBadRequest, invalid: []string{"phone"},
		message: "international form", kept: map[string]string{"smsname": "mobile-2", "phone": "555 1234"},
		run: func(t *testing.T) *response {
			return postForm(t, []envOption{withEveryDevice(t, &smsReceiver{})}, nil, "/.mfa/devices", "/.mfa/devices/sms", url.Values{"name": {"mobile-2"}, "phone": {"555 1234"}})
		}},
	{name: "SMS, wrong code", status: http.StatusForbidden, invalid: []string{"smscode"},
		message: "That code didn't work. Type the latest code we texted to “mobile”.", notEchoed: []string{"424242"},
		run: func(t *testing.T) *response { return smsPending(t, "424242") }},
}

// The verify page names the device a code is for when there is one; with two it asks which.
func TestVerifyPageNamesTheOneDevice(t *testing.T) {
	e := newEnv(t)
	a := e.Client()
	a.Login("alice", testPassword)
	a.Enrol("phone")
	c := e.Client()
	c.Do("POST", "/.mfa/login", url.Values{"username": {"alice"}, "password": {testPassword}})
	if page := html.UnescapeString(string(c.Do("GET", "/.mfa/verify", nil).Body)); !strings.Contains(page, "Enter the code from “phone”.") {
		t.Fatalf("one device, not named:\n%s", page)
	}
	e.Clock.Advance(time.Minute)
	a.Enrol("tablet")
	page := html.UnescapeString(string(c.Do("GET", "/.mfa/verify", nil).Body))
	if strings.Contains(page, "Enter the code from") || !strings.Contains(page, `<select id="serial"`) {
		t.Fatalf("two devices: the page names one, or offers no choice:\n%s", page)
	}
}
