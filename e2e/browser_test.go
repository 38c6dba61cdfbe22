package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// newBrowser starts headless Chromium (Debian's package) for one test of at most 90 s.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	return newBrowserFor(t, 90*time.Second)
}

// newBrowserFor is newBrowser for a test that may take up to limit.
func newBrowserFor(t *testing.T, limit time.Duration) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed (make test installs it: apt-get install chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1000, 800),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, limit)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// screenshot keeps a picture of the page in e2e/artifacts, for people to look at.
func screenshot(name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		png, err := chromedp.FullScreenshot(100)(ctx, t)
		if err != nil {
			return err
		}
		if err := os.MkdirAll("artifacts", 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join("artifacts", name+".png"), png, 0o644)
	})
}

// tab drives one browser tab through a test's steps; a failed step ends the test.
type tab struct {
	t   *testing.T
	ctx context.Context
}

func (b tab) do(step string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", step, err)
	}
}

func (b tab) read(a chromedp.Action[string]) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, a)
	if err != nil {
		b.t.Fatal(err)
	}
	return v
}

func (b tab) h1() string { return b.read(chromedp.Text(chromedp.CSS("h1"))) }

// TestDemoPagesInChromium clicks through the demo as a newcomer would: sign in, enrol an
// authenticator (codes from oathtool), reach the app, sign out, sign in again with a code.
func TestDemoPagesInChromium(t *testing.T) {
	n := startDemo(t)
	b := tab{t, newBrowser(t)}
	do, h1 := b.do, b.h1
	secret, now := b.signInAndEnrolDemo(n)
	codes := b.passFirstCodes("/")
	do("on to the app", chromedp.WaitVisible(chromedp.CSS("dl")), screenshot("4-app"))
	if got := h1(); got != "Hello, demo!" {
		t.Fatalf("after enrolment the app says %q", got)
	}
	do("look at the devices page",
		chromedp.Navigate(n.url+"/.mfa/devices"),
		chromedp.WaitVisible(chromedp.CSS("table")),
		screenshot("5-devices"))
	do("sign out",
		chromedp.Click(chromedp.CSS("header form button")),
		chromedp.WaitVisible(chromedp.CSS("a.button")))
	if got := h1(); got != "Signed out" {
		t.Fatalf("sign-out page says %q", got)
	}
	do("sign in again",
		chromedp.Navigate(n.url+"/"),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), "demo"),
		chromedp.SendKeys(chromedp.CSS("#password"), "demo"),
		chromedp.Click(chromedp.CSS("main button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#code")),
		screenshot("6-verify"))
	do("pass the factor",
		chromedp.SendKeys(chromedp.CSS("#code"), oathtool(t, secret, now.Add(30*time.Second))),
		chromedp.Click(chromedp.CSS("main button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("dl")))
	if got := h1(); got != "Hello, demo!" {
		t.Fatalf("after the factor the app says %q", got)
	}
	n.codesWorkOnce("demo", codes)
}

// signInAndEnrolDemo signs the demo user in from the site's front door and enrols a virtual
// device with two codes from oathtool; it returns the device's secret and the time the codes were for.
func (b tab) signInAndEnrolDemo(n *node) (secret string, now time.Time) {
	t := b.t
	t.Helper()
	do, read, h1 := b.do, b.read, b.h1

	do("open the site",
		chromedp.Navigate(n.url+"/"),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		screenshot("1-login"))
	if loc := read(chromedp.Location()); !strings.Contains(loc, "/.mfa/login?return=%2F") {
		t.Fatalf("the site did not send the browser to sign in: %s", loc)
	}
	do("sign in",
		chromedp.SendKeys(chromedp.CSS("#username"), "demo"),
		chromedp.SendKeys(chromedp.CSS("#password"), "demo"),
		chromedp.Click(chromedp.CSS("main button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#name")),
		screenshot("2-enrolment-required"))
	if got := h1(); got != "Set up multi-factor authentication" {
		t.Fatalf("after sign-in the page says %q", got)
	}
	do("add a virtual device",
		chromedp.Click(chromedp.CSS(`form[action$="/devices/virtual"] button`)),
		chromedp.WaitVisible(chromedp.CSS("img.qr")),
		screenshot("3-qr-code"))
	secret = read(chromedp.Text(chromedp.CSS("#secret")))
	now = time.Now()
	do("type two consecutive codes",
		chromedp.SendKeys(chromedp.CSS("#code1"), oathtool(t, secret, now.Add(-30*time.Second))),
		chromedp.SendKeys(chromedp.CSS("#code2"), oathtool(t, secret, now)),
		chromedp.Click(chromedp.CSS(`form[action$="/enable"] button`)))
	return secret, now
}
