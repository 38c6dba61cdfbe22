package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// longSerial is a hardware token's serial as long as some vendors print them.
const longSerial = "GAHT-LONG-SERIAL-0123456789-ABCDEFGHIJKLMNOPQRSTUV"

// TestPagesFitPhonesAndPassAxeInChromium walks every page a user meets, from sign-in to
// sign-out, and looks at each at 1280, 390 and 320 px in light and dark: no sideways scroll, no
// WCAG 2.1 AA violation found by axe-core, and a screenshot of each in e2e/artifacts.
func TestPagesFitPhonesAndPassAxeInChromium(t *testing.T) {
	n := startDemo(t)
	hwSecret := importToken(t, n, longSerial)
	b := pageChecker{tab{t, newBrowserFor(t, 8*time.Minute)}, axeSource(t)}

	b.do("the sign-in page", chromedp.Navigate(n.url+"/"), chromedp.WaitVisible(chromedp.CSS("#username")))
	b.check("login")
	b.do("a wrong password",
		chromedp.SendKeys(chromedp.CSS("#username"), "demo"),
		chromedp.SendKeys(chromedp.CSS("#password"), "wrong"),
		chromedp.Click(chromedp.CSS("main button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#field-error")))
	b.checkFailed("login-error", "password", "That user name and password don't match.")
	b.do("sign in",
		chromedp.SendKeys(chromedp.CSS("#password"), "demo"),
		chromedp.Click(chromedp.CSS("main button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#name")))
	b.check("devices-first")
	b.do("add a virtual device",
		chromedp.Click(chromedp.CSS(`form[action$="/devices/virtual"] button`)),
		chromedp.WaitVisible(chromedp.CSS("img.qr")), openAll())
	b.check("enrol")
	secret := b.read(chromedp.Text(chromedp.CSS("#secret")))
	link, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.CSS(`a[href^="otpauth://"]`), "href"))
	if err != nil || !strings.Contains(link.Value, "secret="+secret) {
		t.Fatalf("the enrol page's app link is %q (%v)", link.Value, err)
	}
	b.do("mistype the codes",
		chromedp.SendKeys(chromedp.CSS("#code1"), "000000"),
		chromedp.SendKeys(chromedp.CSS("#code2"), "111111"),
		chromedp.Click(chromedp.CSS(`form[action$="/enable"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#field-error")))
	b.checkFailed("enrol-error", "code1", "Those codes didn't work.")
	now := time.Now()
	b.do("enable it",
		chromedp.SendKeys(chromedp.CSS("#code1"), oathtool(t, secret, now.Add(-30*time.Second))),
		chromedp.SendKeys(chromedp.CSS("#code2"), oathtool(t, secret, now)),
		chromedp.Click(chromedp.CSS(`form[action$="/enable"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#done")))
	b.check("first-codes")
	codes := b.passFirstCodes("/")
	n.codesWorkOnce("demo", codes) // spent, so that the devices page warns below
	walkDevicePages(b, n, hwSecret, now)
	walkSignInAgain(b, n)
}

// walkDevicePages adds the long-serial token, an access key and recovery codes, and looks at
// the devices page with every part open.
func walkDevicePages(b pageChecker, n *node, hwSecret string, now time.Time) {
	t := b.t
	t.Helper()
	b.do("add the hardware token",
		chromedp.Navigate(n.url+"/.mfa/devices"), chromedp.WaitVisible(chromedp.CSS("#serial")),
		chromedp.SendKeys(chromedp.CSS("#serial"), longSerial),
		chromedp.SendKeys(chromedp.CSS("#hw1"), oathtool(t, hwSecret, now.Add(-30*time.Second))),
		chromedp.SendKeys(chromedp.CSS("#hw2"), oathtool(t, hwSecret, now)),
		chromedp.Click(chromedp.CSS(`form[action$="/devices/hardware"] button`)),
		chromedp.WaitVisible(chromedp.CSS("p.notice")))
	if got := b.read(chromedp.Text(chromedp.CSS("p.notice"))); !strings.Contains(got, "Hardware token “"+longSerial+"” is added") {
		t.Fatalf("after adding the token the notice says %q", got)
	}
	b.do("every recovery code spent: the page warns", chromedp.WaitVisible(chromedp.CSS("#recovery-none")))
	b.check("devices-no-codes")
	b.do("create an access key",
		chromedp.Navigate(n.url+"/.mfa/devices"),
		chromedp.Click(chromedp.CSS(`form[action$="/access-keys"] button`)),
		chromedp.WaitVisible(chromedp.CSS("ul.secrets")))
	b.check("access-key")
	b.do("copy the secret access key", chromedp.Click(chromedp.CSS(`button[data-status="copied-1"]`)),
		chromedp.WaitVisible(chromedp.CSS("#copied-1")))
	if got := b.read(chromedp.Text(chromedp.CSS("#copied-1"))); got != "Copied" {
		t.Fatalf("the copy button says %q", got)
	}
	b.do("get recovery codes",
		chromedp.Navigate(n.url+"/.mfa/devices"),
		chromedp.Click(chromedp.CSS(`form[action$="/recovery-codes"] button`)),
		chromedp.WaitVisible(chromedp.CSS("ul.secrets")))
	b.check("recovery-codes")
	b.do("the devices page, every part open",
		chromedp.Navigate(n.url+"/.mfa/devices"), chromedp.WaitVisible(chromedp.CSS("h1")), openAll())
	if body := b.read(chromedp.Text(chromedp.CSS("main"))); !strings.Contains(body, longSerial) {
		t.Fatalf("the devices page does not list the hardware token:\n%s", body)
	}
	b.check("devices")
	b.do("remove the token, confirming",
		chromedp.Click(chromedp.CSS(`form[action$="/devices/`+longSerial+`/deactivate"] button`)),
		chromedp.WaitVisible(chromedp.CSS("p.notice")))
	if got := b.read(chromedp.Text(chromedp.CSS("p.notice"))); !strings.Contains(got, "“"+longSerial+"” no longer signs you in") {
		t.Fatalf("after removing the token the notice says %q", got)
	}
}

// walkSignInAgain looks at the verify page, a missing page and the sign-out pages.
func walkSignInAgain(b pageChecker, n *node) {
	b.t.Helper()
	b.do("the verify page", chromedp.Navigate(n.url+"/.mfa/verify"), chromedp.WaitVisible(chromedp.CSS("#code")), openAll())
	b.check("verify")
	b.do("a wrong code",
		chromedp.SendKeys(chromedp.CSS("#code"), "000000"),
		chromedp.Click(chromedp.CSS(`#verify-code button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("#field-error")))
	b.checkFailed("verify-error", "code", "That code didn't work. Use the current code from “phone”.")
	b.do("a wrong recovery code",
		chromedp.Click(chromedp.CSS("details summary")),
		chromedp.SendKeys(chromedp.CSS("#recovery"), "AAAA-BBBB-CCCC-DDDD"),
		chromedp.Click(chromedp.CSS(`form:has(#recovery) button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#recovery[aria-invalid="true"]`))) // the page before had a #field-error too
	b.checkFailed("verify-recovery-error", "recovery", "That recovery code is wrong or already used.")
	walkDevicePage(b, n)
	b.do("a missing page", chromedp.Navigate(n.url+"/.mfa/nowhere"), chromedp.WaitVisible(chromedp.CSS("h1")))
	b.check("status")
	b.do("the sign-out page", chromedp.Navigate(n.url+"/.mfa/logout"), chromedp.WaitVisible(chromedp.CSS("h1")))
	b.check("logout")
}

// importToken imports one SHA1, 6-digit, 30 s hardware token with the CLI, returning its seed.
func importToken(t *testing.T, n *node, serial string) string {
	t.Helper()
	secret := "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	file := filepath.Join(t.TempDir(), "tokens.csv")
	if err := os.WriteFile(file, []byte(csvOf(serial, secret)), 0o600); err != nil {
		t.Fatal(err)
	}
	admin := "--address=" + strings.TrimPrefix(n.admin, "http://")
	if out := n.caddyCLI(t, nil, "hardware", "import", file, admin); !strings.Contains(out, `"imported": 1`) {
		t.Fatalf("import: %s", out)
	}
	return secret
}
