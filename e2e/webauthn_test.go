package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// keysCaddyfile gates a site where /admin/* demands a security key on top of the usual MFA.
func startKeysSite(t *testing.T) *node {
	t.Helper()
	site, admin := freePort(t), freePort(t)
	dataDir := t.TempDir()
	cfg := fmt.Sprintf(`{
	admin localhost:%d
	storage file_system %s
	mfa {
		issuer "keys e2e"
		user demo $2a$04$yDkr1gRCtNQojfOxyVfbx.uKfwuhdsC.MfBohx1nJLI5Gn91mCrgS
	}
}
http://localhost:%d {
	bind 127.0.0.1
	@admin path /admin/*
	mfa @admin {
		methods webauthn
	}
	mfa
	@app not path /.mfa/*
	header @app Content-Type "text/html; charset=utf-8"
	respond "<!doctype html><h1>{http.request.uri.path}</h1><p id=method>{http.request.header.X-MFA-Method}</p>"
}
`, admin, filepath.Join(dataDir, "storage"), site)
	return startNode(t, cfg, dataDir, site, admin)
}

// TestSecurityKeysInChromium: Chromium's virtual authenticator stands in for a security key.
// Register a key on the real pages, reach a route that demands one, be stepped up from a TOTP
// factor to the key, sign out, sign in again with the key.
func TestSecurityKeysInChromium(t *testing.T) {
	n := startKeysSite(t)
	b := tab{t, newBrowser(t)}
	do, read, h1 := b.do, b.read, b.h1
	signIn := chromedp.Steps(
		chromedp.Navigate(n.url+"/.mfa/login?return=/admin/panel"),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), "demo"),
		chromedp.SendKeys(chromedp.CSS("#password"), "integration"),
		chromedp.Click(chromedp.CSS("main button[type=submit]")))

	b.addVirtualAuthenticator(webauthn.AuthenticatorTransportUsb)

	do("sign in and reach the enrolment page", signIn, chromedp.WaitVisible(chromedp.CSS("#webauthn-register")), screenshot("keys-1-enrol"))
	do("register a security key", chromedp.Click(chromedp.CSS("#webauthn-register")))
	codes := b.passFirstCodes("/admin/panel")
	do("on to the admin panel", chromedp.WaitVisible(chromedp.CSS("#method")))
	if got := h1(); got != "/admin/panel" || read(chromedp.Text(chromedp.CSS("#method"))) != "webauthn" {
		t.Fatalf("after registering a key: %q, method %q", got, read(chromedp.Text(chromedp.CSS("#method"))))
	}

	b.stepUpFromAnAppToTheKey(n)

	do("sign out",
		chromedp.Navigate(n.url+"/.mfa/logout"),
		chromedp.WaitVisible(chromedp.CSS("main form button")),
		chromedp.Click(chromedp.CSS("main form button")),
		chromedp.WaitVisible(chromedp.CSS("a.button")))
	do("sign in with the key",
		signIn,
		chromedp.WaitVisible(chromedp.CSS("#webauthn-login")),
		chromedp.Click(chromedp.CSS("#webauthn-login")),
		chromedp.WaitVisible(chromedp.CSS("#method")),
		screenshot("keys-3-admin"))
	if h1() != "/admin/panel" || read(chromedp.Text(chromedp.CSS("#method"))) != "webauthn" {
		t.Fatalf("after signing in with the key: %q", h1())
	}
	n.codesWorkOnce("demo", codes)
}

// addVirtualAuthenticator opens the tab, enables WebAuthn in it and adds Chromium's virtual
// authenticator on transport, with resident keys and user verification, touched automatically.
func (b tab) addVirtualAuthenticator(transport webauthn.AuthenticatorTransport) webauthn.AuthenticatorID {
	t := b.t
	t.Helper()
	b.do("open a tab", chromedp.Navigate("about:blank"))
	if _, err := chromedp.Call(b.ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	yes := true
	added, err := chromedp.Call(b.ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
		Protocol: webauthn.AuthenticatorProtocolCtap2, Transport: transport,
		HasResidentKey: yes, HasUserVerification: yes, IsUserVerified: yes, AutomaticPresenceSimulation: yes,
	}})
	if err != nil {
		t.Fatal(err)
	}
	return added.AuthenticatorID
}

// stepUpFromAnAppToTheKey adds an authenticator app beside the key (a second device passes no
// factor), passes a factor with it, and checks that the admin route then steps up to the key only.
func (b tab) stepUpFromAnAppToTheKey(n *node) {
	t := b.t
	t.Helper()
	do, read, h1 := b.do, b.read, b.h1
	// Add an authenticator app too (a second device passes no factor), then pass one with it:
	// /admin then steps up to the key.
	do("add a virtual device",
		chromedp.Navigate(n.url+"/.mfa/devices"),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/devices/virtual"] button`)),
		chromedp.Click(chromedp.CSS(`form[action$="/devices/virtual"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#secret")))
	secret := read(chromedp.Text(chromedp.CSS("#secret")))
	now := time.Now()
	do("enable it",
		chromedp.SendKeys(chromedp.CSS("#code1"), oathtool(t, secret, now.Add(-30*time.Second))),
		chromedp.SendKeys(chromedp.CSS("#code2"), oathtool(t, secret, now)),
		chromedp.Click(chromedp.CSS(`form[action$="/enable"] button`)),
		chromedp.WaitVisible(chromedp.CSS("p.notice")), // the devices page names the new device
		chromedp.Navigate(n.url+"/"),
		chromedp.WaitVisible(chromedp.CSS("#method")))
	if m := read(chromedp.Text(chromedp.CSS("#method"))); m != "webauthn" {
		t.Fatalf("enabling a second device changed the session's method to %q", m)
	}
	do("pass a factor with the app",
		chromedp.Navigate(n.url+"/.mfa/verify?return=/"),
		chromedp.WaitVisible(chromedp.CSS("#code")),
		chromedp.SendKeys(chromedp.CSS("#code"), oathtool(t, secret, now.Add(30*time.Second))), // enable spent this step's code
		chromedp.Click(chromedp.CSS(`form[action$="/verify"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#method")))
	do("open the admin route with a TOTP factor",
		chromedp.Navigate(n.url+"/admin/panel"),
		chromedp.WaitVisible(chromedp.CSS("#webauthn-login")),
		screenshot("keys-2-step-up"))
	if loc := read(chromedp.Location()); !strings.Contains(loc, "/.mfa/verify?return=%2Fadmin%2Fpanel&need=webauthn") {
		t.Fatalf("no step-up to the key: %s", loc)
	}
	if n := read(chromedp.Evaluate[string](`String(document.querySelectorAll("#code").length)`)); n != "0" {
		t.Fatalf("the step-up page offers a code field where only a key will do")
	}
	do("use the key", chromedp.Click(chromedp.CSS("#webauthn-login")), chromedp.WaitVisible(chromedp.CSS("#method")))
	if h1() != "/admin/panel" {
		t.Fatalf("after the key: %q", h1())
	}
}
