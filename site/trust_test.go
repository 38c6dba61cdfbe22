package site_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/gate"
	"github.com/caddy-mfa/caddy-mfa/web"
)

// TestARememberedBrowserIsNoFreshFactor: a remembered sign-in (password and the remember
// cookie, no code) reaches the app, but the calls that change how the user signs in want a
// factor passed with a device: otherwise a stolen remember cookie and the password would mint
// recovery codes and keys, or remove the real device and enrol the thief's, for good.
func TestARememberedBrowserIsNoFreshFactor(t *testing.T) {
	e, secret := rememberedEnv(t)
	stolen := e.remembered(secret)
	if got := stolen.signInMethod(); got != "remembered" {
		t.Fatalf("the remembered sign-in's method: %q", got)
	}
	if r := stolen.Do("GET", "/app", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("a remembered sign-in at the app: %d", r.StatusCode)
	}
	serial := e.serialOf("alice")
	for _, call := range []struct{ method, path string }{
		{"POST", "/.mfa/api/recovery-codes"},
		{"POST", "/.mfa/api/access-keys"},
		{"POST", "/.mfa/api/devices/" + serial + "/deactivate"},
		{"POST", "/.mfa/api/devices/virtual"},
	} {
		r := stolen.Do(call.method, call.path, map[string]string{"name": "evil"})
		if r.StatusCode != http.StatusUnauthorized || r.ErrorCode() != auth.CodeMFARequired {
			t.Errorf("%s %s from a remembered sign-in: %d %s", call.method, call.path, r.StatusCode, r.Body)
		}
	}
	if ds, _ := e.Ops.Devices.ForUser(t.Context(), "alice"); len(ds) != 1 || !ds[0].Enabled {
		t.Fatalf("alice's devices after the attempts: %d", len(ds))
	}
}

// TestAnEarlierHandlersPasskeySignsInNowhereElse: a user an earlier handler vouched for on one
// site registers a passkey there; on a local-login site sharing the relying party, that passkey
// signs nobody in (the same answer as a key nobody registered).
func TestAnEarlierHandlersPasskeySignsInNowhereElse(t *testing.T) {
	e := newEnv(t, withWebAuthn)
	local := e.Gate
	e.Gate = e.NewGate(gate.Options{Mount: web.Mount{Identity: func(r *http.Request) string { return r.Header.Get("Remote-User") }}})
	carol := e.Client()
	carol.Header = http.Header{"Remote-User": {"carol"}}
	var who struct {
		CSRF string `json:"csrf_token"`
	}
	carol.Do("GET", "/.mfa/api/whoami", nil).JSON(&who)
	carol.CSRF = who.CSRF
	k := e.newSoftKey()
	if r := carol.registerKey(k, "carolkey"); r.StatusCode != http.StatusOK {
		t.Fatalf("carol's key on the earlier handler's site: %d %s", r.StatusCode, r.Body)
	}
	e.Gate = local
	a := e.Client()
	r := a.Do("POST", "/.mfa/api/passkey/finish", json.RawMessage(k.assert(passkeyBegin(t, a), e.userHandle("carol"))))
	if r.StatusCode != http.StatusForbidden || r.ErrorCode() != auth.CodeInvalidAuthCode || len(r.Cookies()) != 0 {
		t.Fatalf("carol's passkey on the local site: %d %s", r.StatusCode, r.Body)
	}
	if r := a.Do("GET", "/app", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the local app after carol's passkey: %d", r.StatusCode)
	}
}

// TestSignOutEverywhereElseReachesUnlistedSignIns: a thief with the password signs in over and
// over until the stolen sign-in falls off the user's list; "sign out everywhere else" still
// ends it, because it revokes all but this browser, listed or not.
func TestSignOutEverywhereElseReachesUnlistedSignIns(t *testing.T) {
	e := newEnv(t)
	stolen := e.Client()
	stolen.Login("alice", testPassword)
	for range 110 { // past session.MaxSignIns, each its own sign-in (own attempts are given back)
		e.Clock.Advance(3 * time.Second)
		if r := e.Client().Login("alice", testPassword); r.StatusCode != http.StatusOK {
			t.Fatalf("sign-in: %d %s", r.StatusCode, r.Body)
		}
	}
	owner := e.Client()
	owner.Login("alice", testPassword)
	var out struct {
		CSRFToken string `json:"csrf_token"`
	}
	r := owner.Do("POST", "/.mfa/api/sessions/revoke-others", nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("revoke-others: %d %s", r.StatusCode, r.Body)
	}
	r.JSON(&out)
	if e.signedInAs(stolen) != "" {
		t.Fatal("a sign-in no longer listed survived sign-out everywhere else")
	}
	if owner.CSRF = out.CSRFToken; e.signedInAs(owner) != "alice" || owner.Do("POST", "/.mfa/api/logout", nil).StatusCode != http.StatusOK {
		t.Fatal("this browser did not stay signed in, with a working CSRF token")
	}
}
