package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestRememberedBrowserInChromium: on the demo with remember_device, a user ticks "Remember
// this browser" with a code; the devices page then lists the browser and where the user is
// signed in; after signing out, the password alone brings the user back in, with the factor
// the gateway calls remembered.
func TestRememberedBrowserInChromium(t *testing.T) {
	n := startDemo(t, "\tmfa\n\treverse_proxy", "\tmfa {\n\t\tremember_device 720h\n\t}\n\treverse_proxy")
	b := tab{t, newBrowser(t)}
	do, read, h1 := b.do, b.read, b.h1
	signIn := chromedp.Steps(
		chromedp.Navigate(n.url+"/"),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), "demo"),
		chromedp.SendKeys(chromedp.CSS("#password"), "demo"),
		chromedp.Click(chromedp.CSS("main button[type=submit]")))
	signOut := chromedp.Steps(
		chromedp.Navigate(n.url+"/.mfa/logout"),
		chromedp.WaitVisible(chromedp.CSS("main form button")),
		chromedp.Click(chromedp.CSS("main form button")),
		chromedp.WaitVisible(chromedp.CSS("a.button")))

	do("sign in and enrol", signIn, chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.Click(chromedp.CSS(`form[action$="/devices/virtual"] button`)),
		chromedp.WaitVisible(chromedp.CSS("img.qr")))
	secret := read(chromedp.Text(chromedp.CSS("#secret")))
	now := time.Now()
	do("enable the device",
		chromedp.SendKeys(chromedp.CSS("#code1"), oathtool(t, secret, now.Add(-30*time.Second))),
		chromedp.SendKeys(chromedp.CSS("#code2"), oathtool(t, secret, now)),
		chromedp.Click(chromedp.CSS(`form[action$="/enable"] button`)))
	codes := b.passFirstCodes("/")
	do("on to the app", chromedp.WaitVisible(chromedp.CSS("dl")))
	n.codesWorkOnce("demo", codes)
	do("sign out", signOut)
	do("sign in, and ask to be remembered with the code",
		signIn,
		chromedp.WaitVisible(chromedp.CSS("#remember")),
		chromedp.Click(chromedp.CSS("#remember")),
		chromedp.SendKeys(chromedp.CSS("#code"), oathtool(t, secret, now.Add(30*time.Second))),
		screenshot("remember-1-verify"),
		chromedp.Click(chromedp.CSS(`form[action$="/verify"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("dl")))
	do("look at the devices page", chromedp.Navigate(n.url+"/.mfa/devices"),
		chromedp.WaitVisible(chromedp.CSS("ul.signins")), screenshot("remember-2-devices"))
	page := read(chromedp.Text(chromedp.CSS("main")))
	if !strings.Contains(page, "Remembered browsers") || !strings.Contains(page, "Forget this browser") || !strings.Contains(page, "Where you're signed in") {
		t.Fatalf("the devices page lists no remembered browser or sign-in:\n%s", page)
	}
	do("sign out again", signOut)
	do("sign in with the password alone", signIn, chromedp.WaitVisible(chromedp.CSS("dl")))
	if got, app := h1(), read(chromedp.Text(chromedp.CSS("dl"))); got != "Hello, demo!" || !strings.Contains(app, "remembered") {
		t.Fatalf("a remembered browser's sign-in: %q, the app saw %q", got, app)
	}
}
