package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// TestCommandLineSignInWithAPasskey: a user whose factor is a passkey approves `caddy mfa
// login` after stepping up with it on the verify page (Chromium's virtual authenticator); the
// token carries mfa:Method webauthn and reaches a route that demands a security key.
func TestCommandLineSignInWithAPasskey(t *testing.T) {
	n := startKeysSite(t)
	b := tab{t, newBrowserFor(t, 2*time.Minute)}
	id := b.addVirtualAuthenticator(webauthn.AuthenticatorTransportInternal)
	presence := func(on bool) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
			_, err := cdp.Call(ctx, target, webauthn.SetAutomaticPresenceSimulation, webauthn.SetAutomaticPresenceSimulationParams{AuthenticatorID: id, Enabled: on})
			return err
		})
	}
	signInWithPassword := chromedp.Steps(
		chromedp.SendKeys(chromedp.CSS("#username"), "demo"),
		chromedp.SendKeys(chromedp.CSS("#password"), "integration"),
		chromedp.Click(chromedp.CSS("main form button[type=submit]")))
	b.do("register a passkey",
		chromedp.Navigate(n.url+"/.mfa/login?return=/admin/panel"), chromedp.WaitVisible(chromedp.CSS("#username")),
		signInWithPassword,
		chromedp.WaitVisible(chromedp.CSS("#webauthn-register")),
		chromedp.Click(chromedp.CSS("#webauthn-register")))
	b.passFirstCodes("/admin/panel")
	b.do("sign out", chromedp.WaitVisible(chromedp.CSS("#method")),
		chromedp.Navigate(n.url+"/.mfa/logout"), chromedp.WaitVisible(chromedp.CSS("main form button")),
		chromedp.Click(chromedp.CSS("main form button")), chromedp.WaitVisible(chromedp.CSS("a.button")))

	cache := t.TempDir()
	login := startLogin(t, n, cache)
	uri, _ := login.link(t)
	// The login page offers passkeys in autofill as it opens: with no one touching the key,
	// the password signs in, with no factor yet.
	b.do("follow the link and sign in with the password", presence(false),
		chromedp.Navigate(uri), chromedp.WaitVisible(chromedp.CSS("#username")), signInWithPassword,
		chromedp.WaitVisible(chromedp.CSS("dl.facts")), presence(true))
	b.do("step up with the passkey on the verify page",
		chromedp.Click(chromedp.CSS(`a.button[href*="/verify"]`)),
		chromedp.WaitVisible(chromedp.CSS("#webauthn-login")),
		chromedp.Click(chromedp.CSS("#webauthn-login")),
		chromedp.WaitVisible(chromedp.CSS(`button[value="approve"]`)))
	b.do("approve", chromedp.Click(chromedp.CSS(`button[value="approve"]`)), chromedp.WaitNotPresent(chromedp.CSS("dl.facts")))
	select {
	case err := <-login.done:
		login.done <- err
		if err != nil {
			t.Fatalf("caddy mfa login: %v\n%s", err, login.out)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("caddy mfa login did not end after the approval:\n%s", login.out)
	}
	out := n.caddyCLI(t, []string{"XDG_CACHE_HOME=" + cache}, "exec", "--url", n.url, "--",
		"sh", "-c", `curl -sS -H "Authorization: Bearer $MFA_SESSION_TOKEN" `+n.url+"/admin/panel")
	if !strings.Contains(out, "<h1>/admin/panel</h1>") || !strings.Contains(out, "<p id=method>webauthn</p>") {
		t.Fatalf("the route that demands a key, with the token:\n%s", out)
	}
}
