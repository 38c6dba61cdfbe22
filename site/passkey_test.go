package site_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/gate"
	"github.com/caddy-mfa/caddy-mfa/internal/housetest"
)

// passkeyUser is alice with a virtual device and a registered passkey.
func passkeyUser(t *testing.T, e *env) *softKey {
	t.Helper()
	a := e.Client()
	a.Login("alice", testPassword)
	a.Enrol("phone")
	k := e.newSoftKey()
	if r := a.registerKey(k, "passkey"); r.StatusCode != http.StatusOK {
		t.Fatalf("registering the passkey: %d %s", r.StatusCode, r.Body)
	}
	return k
}

// passkeyBegin starts a passwordless sign-in and returns its challenge, checking the options.
func passkeyBegin(t *testing.T, c *client) string {
	t.Helper()
	r := c.Do("POST", "/.mfa/api/passkey/begin", nil)
	var opts struct {
		PublicKey struct {
			Challenge        string            `json:"challenge"`
			AllowCredentials []json.RawMessage `json:"allowCredentials"`
			UserVerification string            `json:"userVerification"`
		} `json:"publicKey"`
	}
	if r.StatusCode != http.StatusOK {
		t.Fatalf("passkey begin: %d %s", r.StatusCode, r.Body)
	}
	r.JSON(&opts)
	if opts.PublicKey.Challenge == "" || len(opts.PublicKey.AllowCredentials) != 0 || opts.PublicKey.UserVerification != "required" {
		t.Fatalf("passkey options: %s", r.Body)
	}
	return opts.PublicKey.Challenge
}

// TestPasskeySignsInAlone: a passkey that verified its user signs in with no name and no
// password, and the session carries the factor the gate asks for.
func TestPasskeySignsInAlone(t *testing.T) {
	e := newEnv(t, withWebAuthn)
	k := passkeyUser(t, e)
	c := e.Client()
	r := c.Do("POST", "/.mfa/api/passkey/finish", json.RawMessage(k.assert(passkeyBegin(t, c), e.userHandle("alice"))))
	var got struct {
		User      string             `json:"user"`
		MFA       housetest.MFAState `json:"mfa"`
		CSRFToken string             `json:"csrf_token"`
	}
	if r.StatusCode != http.StatusOK {
		t.Fatalf("passkey finish: %d %s", r.StatusCode, r.Body)
	}
	r.JSON(&got)
	if got.User != "alice" || !got.MFA.Present || got.MFA.Method != "webauthn" || got.CSRFToken == "" {
		t.Fatalf("passkey sign-in: %s", r.Body)
	}
	if r := c.Do("GET", "/app", nil); r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("the app after a passkey sign-in: %d", r.StatusCode)
	}
	if e.Events("login") < 2 || e.Events("factor_passed") < 1 {
		t.Errorf("audit: login %d, factor_passed %d", e.Events("login"), e.Events("factor_passed"))
	}
}

// TestPasskeyAnswersAnAttackerMightSend: what is not a verified passkey of the user it names
// signs nobody in: no user verification, a replayed answer, an unknown or another user's
// handle, another key, garbage; and refused answers count toward the named user's lockout.
func TestPasskeyAnswersAnAttackerMightSend(t *testing.T) {
	e := newEnv(t, withWebAuthn)
	k := passkeyUser(t, e)
	alice, bob := e.userHandle("alice"), e.userHandle("bob")
	stranger := e.newSoftKey()
	replayed := e.Client()
	first := k.assert(passkeyBegin(t, replayed), alice)
	if r := replayed.Do("POST", "/.mfa/api/passkey/finish", json.RawMessage(first)); r.StatusCode != http.StatusOK {
		t.Fatalf("the first answer: %d %s", r.StatusCode, r.Body)
	}
	cases := []struct {
		name   string
		answer func(challenge string) []byte
		status int
		code   string
	}{
		{"no user verification", func(ch string) []byte { return k.assertFlags(ch, alice, 0x01) }, 403, auth.CodeInvalidAuthCode},
		{"replayed", func(string) []byte { return first }, 400, auth.CodeInvalidInput},
		{"unknown handle", func(ch string) []byte { return k.assert(ch, []byte("not a handle of anybody here")) }, 403, auth.CodeInvalidAuthCode},
		{"bob's handle", func(ch string) []byte { return k.assert(ch, bob) }, 403, auth.CodeInvalidAuthCode},
		{"another key", func(ch string) []byte { return stranger.assert(ch, alice) }, 403, auth.CodeInvalidAuthCode},
		{"no handle", func(ch string) []byte { return k.assert(ch, nil) }, 403, auth.CodeInvalidAuthCode},
		{"garbage", func(string) []byte { return []byte(`{"id":"AAAA","type":"public-key","response":{}}`) }, 403, auth.CodeInvalidAuthCode},
	}
	for _, tc := range cases {
		c := e.Client()
		r := c.Do("POST", "/.mfa/api/passkey/finish", json.RawMessage(tc.answer(passkeyBegin(t, c))))
		if r.StatusCode != tc.status || r.ErrorCode() != tc.code || len(r.Cookies()) != 0 {
			t.Errorf("%s: %d %s, want %d %s and no cookie", tc.name, r.StatusCode, r.Body, tc.status, tc.code)
		}
		if tc.name == "no user verification" && !strings.Contains(string(r.Body), "PIN") {
			t.Errorf("no user verification: the answer does not say why: %s", r.Body)
		}
	}
	// Two of those were checked as alice's (no user verification, another key); a third makes
	// max_failures 3, and her right passkey then waits out the lock.
	c := e.Client()
	if r := c.Do("POST", "/.mfa/api/passkey/finish", json.RawMessage(stranger.assert(passkeyBegin(t, c), alice))); r.StatusCode != http.StatusForbidden {
		t.Fatalf("the third refused answer: %d %s", r.StatusCode, r.Body)
	}
	if r := c.Do("POST", "/.mfa/api/passkey/finish", json.RawMessage(k.assert(passkeyBegin(t, c), alice))); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("alice's passkey after three refused answers in her name: %d %s", r.StatusCode, r.Body)
	}
}

// TestPasskeySignInWhereItCannotBe: off by configuration, behind an earlier handler's sign-in,
// and on a site reached by an IP address, passwordless sign-in is refused clearly and the
// sign-in page does not offer it; where it can be, the page offers it and autofill.
func TestPasskeySignInWhereItCannotBe(t *testing.T) {
	off := newEnv(t, withWebAuthn, func(_ *gate.Options, c *auth.Config, _ *auth.Deps) { c.WebAuthn.NoPasswordless = true })
	external := newEnv(t, withWebAuthn, func(o *gate.Options, _ *auth.Config, _ *auth.Deps) {
		o.Identity = func(r *http.Request) string { return r.Header.Get("Remote-User") }
	})
	byIP := newEnv(t)
	for name, tc := range map[string]struct {
		e    *env
		code string
	}{"off": {off, auth.CodeNoSuchEntity}, "external": {external, auth.CodeNoSuchEntity}, "by IP": {byIP, auth.CodeInvalidInput}} {
		for _, path := range []string{"/.mfa/api/passkey/begin", "/.mfa/api/passkey/finish"} {
			r := tc.e.Client().Do("POST", path, map[string]string{})
			if r.ErrorCode() != tc.code && !(path == "/.mfa/api/passkey/finish" && name == "by IP" && r.ErrorCode() == auth.CodeInvalidAuthCode) {
				t.Errorf("%s %s: %d %s, want %s", name, path, r.StatusCode, r.Body, tc.code)
			}
		}
		if name != "external" {
			if page := tc.e.Client().Do("GET", "/.mfa/login", nil); strings.Contains(string(page.Body), "passkey-signin") {
				t.Errorf("%s: the sign-in page offers a passkey", name)
			}
		}
	}
	on := newEnv(t, withWebAuthn)
	page := string(on.Client().Do("GET", "/.mfa/login", nil).Body)
	if !strings.Contains(page, `id="passkey-signin"`) || !strings.Contains(page, `autocomplete="username webauthn"`) {
		t.Fatalf("the sign-in page offers no passkey: %s", page)
	}
}
