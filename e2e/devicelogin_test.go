package e2e

import (
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// loginProcess is `caddy mfa login` running as a user would run it, its output collected.
type loginProcess struct {
	cmd  *exec.Cmd
	out  *logBuffer
	done chan error
}

// startLogin runs `caddy mfa login` against the node with its cache in cache.
func startLogin(t *testing.T, n *node, cache string, args ...string) *loginProcess {
	t.Helper()
	p := &loginProcess{out: new(logBuffer), done: make(chan error, 1)}
	p.cmd = exec.Command(binary, append([]string{"mfa", "login", "--url", n.url, "--client-name", "e2e laptop"}, args...)...)
	p.cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+cache)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

var completeURI = regexp.MustCompile(`or open (http://\S+\?code=([A-Z]{4}-[A-Z]{4}))`)

// link waits for the line with the link to the device page, and returns it and the code.
func (p *loginProcess) link(t *testing.T) (uri, code string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := completeURI.FindStringSubmatch(p.out.String()); m != nil {
			return m[1], m[2]
		}
		time.Sleep(50 * time.Millisecond) // a subprocess's output: no clock to fake
	}
	t.Fatalf("caddy mfa login showed no link:\n%s", p.out)
	return "", ""
}

// TestCommandLineSignIn: `caddy mfa login` shows a code; Chromium signs in, steps up with an
// oathtool code through the verify page and approves; the login ends with the token kept
// (0600), and `caddy mfa exec -- curl` reaches the gated app with it.
func TestCommandLineSignIn(t *testing.T) {
	n := startDemo(t)
	now := time.Now()
	_, secrets := enrolDevices(t, n, now, "phone")
	cache := t.TempDir()
	login := startLogin(t, n, cache, "--duration", "1h")
	uri, code := login.link(t)
	if strings.Contains(login.out.String(), "\x1b[") {
		t.Fatal("a QR code drawn into a pipe")
	}
	b := tab{t, newBrowserFor(t, 2*time.Minute)}
	b.do("follow the link and sign in",
		chromedp.Navigate(uri), chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), "demo"),
		chromedp.SendKeys(chromedp.CSS("#password"), "demo"),
		chromedp.Click(chromedp.CSS("main button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("dl.facts")))
	page := b.read(chromedp.Text(chromedp.CSS("main")))
	for _, want := range []string{code, "e2e laptop", "127.0.0.1", "1 hour", "Pass a factor"} {
		if !strings.Contains(page, want) {
			t.Fatalf("the device page lacks %q:\n%s", want, page)
		}
	}
	b.do("the page before a factor", screenshot("device-1-needs-factor"))
	b.do("step up on the verify page",
		chromedp.Click(chromedp.CSS(`a.button[href*="/verify"]`)),
		chromedp.WaitVisible(chromedp.CSS("#code")),
		chromedp.SendKeys(chromedp.CSS("#code"), oathtool(t, secrets[0], now.Add(30*time.Second))),
		chromedp.Click(chromedp.CSS("#verify-code button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`button[value="approve"]`)))
	for _, width := range []int64{1280, 390} {
		b.do("the page with a fresh factor", chromedp.EmulateViewport(width, 844),
			screenshot("device-2-approve-"+map[int64]string{1280: "1280", 390: "390"}[width]))
	}
	// Wait for the answer's own heading: between the click and the next page the tab may have
	// no page to draw.
	b.do("approve", chromedp.Click(chromedp.CSS(`button[value="approve"]`)),
		chromedp.WaitVisible(chromedp.Search(`//h1[normalize-space()="Approved"]`)), screenshot("device-3-approved"))
	if got := b.h1(); got != "Approved" {
		t.Fatalf("after approving the page says %q", got)
	}
	select {
	case err := <-login.done:
		login.done <- err
		if err != nil || !strings.Contains(login.out.String(), "Signed in to") {
			t.Fatalf("caddy mfa login: %v\n%s", err, login.out)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("caddy mfa login did not end after the approval:\n%s", login.out)
	}
	checkTokenCache(t, cache)
	useKeptToken(t, n, cache)
}

// checkTokenCache: one file, readable by the user alone, in a folder only the user may enter.
func checkTokenCache(t *testing.T, cache string) {
	t.Helper()
	dir := filepath.Join(cache, "caddy-mfa")
	files, err := os.ReadDir(dir)
	if err != nil || len(files) != 1 {
		t.Fatalf("the token cache holds %v (%v)", files, err)
	}
	info, _ := files[0].Info()
	folder, _ := os.Stat(dir)
	if info.Mode().Perm() != 0o600 || folder.Mode().Perm() != 0o700 {
		t.Fatalf("modes: file %v, folder %v", info.Mode().Perm(), folder.Mode().Perm())
	}
}

// useKeptToken runs exec, token and logout with the kept token.
func useKeptToken(t *testing.T, n *node, cache string) {
	t.Helper()
	env := []string{"XDG_CACHE_HOME=" + cache}
	out := n.caddyCLI(t, env, "exec", "--url", n.url, "--", "sh", "-c", `curl -sS -H "Authorization: Bearer $MFA_SESSION_TOKEN" `+n.url+"/")
	if !strings.Contains(out, "<dd>token</dd>") || !strings.Contains(out, "<dd>virtual</dd>") || !strings.Contains(out, "<dd>true</dd>") {
		t.Fatalf("curl through caddy mfa exec:\n%s", out)
	}
	tok := strings.TrimSpace(n.caddyCLI(t, env, "token", "--url", n.url))
	var whoami struct {
		AuthType string `json:"auth_type"`
	}
	if code := newAPIClient(t, n.url).call("GET", "/.mfa/api/whoami", nil, &whoami, "Authorization", "Bearer "+tok); code != http.StatusOK || whoami.AuthType != "token" {
		t.Fatalf("caddy mfa token's token: %d %+v", code, whoami)
	}
	assertNoSecrets(t, n, tok)
	status := exec.Command(binary, "mfa", "exec", "--url", n.url, "--", "sh", "-c", "exit 7")
	status.Env = append(os.Environ(), env...)
	var exit *exec.ExitError
	if err := status.Run(); !errors.As(err, &exit) || exit.ExitCode() != 7 {
		t.Fatalf("exec of a command that exits 7: %v", err)
	}
	if out := n.caddyCLI(t, env, "logout", "--url", n.url); !strings.Contains(out, "Forgot") {
		t.Fatalf("logout: %s", out)
	}
	if files, _ := os.ReadDir(filepath.Join(cache, "caddy-mfa")); len(files) != 0 {
		t.Fatalf("after logout the cache holds %v", files)
	}
}

// walkDevicePage looks at the command-line sign-in page: a request with the longest name a
// client may give, and the code form with a wrong code said in its card.
func walkDevicePage(b pageChecker, n *node) {
	b.t.Helper()
	var codes struct {
		UserCode string `json:"user_code"`
	}
	name := "build-agent-" + strings.Repeat("0123456789", 5) + "ab" // 64 bytes, one word
	if code := newAPIClient(b.t, n.url).call("POST", "/.mfa/api/device/authorize", map[string]string{"client_name": name}, &codes); code != http.StatusOK {
		b.t.Fatalf("authorize: %d", code)
	}
	b.do("the command-line sign-in page", chromedp.Navigate(n.url+"/.mfa/device?code="+codes.UserCode), chromedp.WaitVisible(chromedp.CSS("dl.facts")))
	b.check("device")
	b.do("a wrong code", chromedp.Navigate(n.url+"/.mfa/device?code=ZZZZ-ZZZZ"), chromedp.WaitVisible(chromedp.CSS("#field-error")))
	b.checkFailed("device-wrong-code", "code", "No such code")
}
