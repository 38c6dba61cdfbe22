package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// TestPasskeySignInInChromium: Chromium's virtual authenticator (resident keys, user
// verification) registers a passkey on the real pages; after signing out, "Sign in with a
// passkey" signs in with no user name and no password and reaches a route that demands a key;
// an authenticator that does not verify its user signs nobody in, and the page says so.
func TestPasskeySignInInChromium(t *testing.T) {
	n := startKeysSite(t)
	b := tab{t, newBrowser(t)}
	ctx, do, read, h1 := b.ctx, b.do, b.read, b.h1
	do("open a tab", chromedp.Navigate("about:blank"))
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	yes := true
	added, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
		Protocol: webauthn.AuthenticatorProtocolCtap2, Transport: webauthn.AuthenticatorTransportInternal,
		HasResidentKey: yes, HasUserVerification: yes, IsUserVerified: yes, AutomaticPresenceSimulation: yes,
	}})
	if err != nil {
		t.Fatal(err)
	}
	do("sign in with the password and register a passkey",
		chromedp.Navigate(n.url+"/.mfa/login?return=/admin/panel"),
		chromedp.WaitVisible(chromedp.CSS("#passkey-signin")),
		screenshot("passkey-1-sign-in"),
		chromedp.SendKeys(chromedp.CSS("#username"), "demo"),
		chromedp.SendKeys(chromedp.CSS("#password"), "integration"),
		chromedp.Click(chromedp.CSS("main form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#webauthn-register")),
		chromedp.Click(chromedp.CSS("#webauthn-register")))
	n.codesWorkOnce("demo", b.passFirstCodes("/admin/panel"))
	signOut := chromedp.Steps(
		chromedp.Navigate(n.url+"/.mfa/logout"),
		chromedp.WaitVisible(chromedp.CSS("main form button")),
		chromedp.Click(chromedp.CSS("main form button")),
		chromedp.WaitVisible(chromedp.CSS("a.button")))
	do("sign out", signOut)
	// The page asks for passkeys in autofill (conditional mediation) as it opens: the virtual
	// authenticator, which answers at once, signs in from there, as a person picking the passkey
	// in the user name field would. (The button's way is the one the refusal below takes.)
	do("sign in with the passkey alone",
		chromedp.Navigate(n.url+"/.mfa/login?return=/admin/panel"),
		chromedp.WaitVisible(chromedp.CSS("#method")))
	if h1() != "/admin/panel" || read(chromedp.Text(chromedp.CSS("#method"))) != "webauthn" {
		t.Fatalf("after a passkey sign-in: %q", h1())
	}

	do("sign out again", signOut)
	no := false
	if _, err := chromedp.Call(ctx, webauthn.SetUserVerified, webauthn.SetUserVerifiedParams{AuthenticatorID: added.AuthenticatorID, IsUserVerified: no}); err != nil {
		t.Fatal(err)
	}
	do("try a passkey that does not verify its user",
		chromedp.Navigate(n.url+"/.mfa/login?return=/admin/panel"),
		chromedp.WaitVisible(chromedp.CSS("#passkey-signin")),
		chromedp.Click(chromedp.CSS("#passkey-signin")),
		chromedp.WaitVisible(chromedp.CSS("#webauthn-message.error")),
		screenshot("passkey-2-refused"))
	if msg := read(chromedp.Text(chromedp.CSS("#webauthn-message"))); !strings.Contains(msg, "check it is you") {
		t.Fatalf("the page says %q, not why the passkey did not sign in", msg)
	}
	if who := read(chromedp.Evaluate[string](`fetch("/.mfa/api/whoami").then(r => r.json()).then(j => j.user)`, chromedp.EvalAwaitPromise)); who != "" {
		t.Fatalf("a passkey without user verification signed in %q", who)
	}
}
