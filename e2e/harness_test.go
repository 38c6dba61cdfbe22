package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// binary is the caddy built from cmd/caddy for this test run.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "caddy-mfa-e2e-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "caddy")
	build := exec.Command("go", "build", "-o", binary, "../cmd/caddy")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building caddy:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// node is one running caddy process.
type node struct {
	t       *testing.T
	url     string // the gated site
	admin   string // the admin endpoint
	dataDir string
	log     *logBuffer
	cmd     *exec.Cmd
	// password of the config's users: "demo" in Caddyfile.example, "integration" in the tests' own configs.
	password string
}

// logBuffer collects a process's output while tests read it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startDemo runs the README's demo config, Caddyfile.example, on free ports with its own
// storage and keys; edits are more (old, new) replacements.
func startDemo(t *testing.T, edits ...string) *node {
	t.Helper()
	src, err := os.ReadFile("../Caddyfile.example")
	if err != nil {
		t.Fatal(err)
	}
	site, upstream, admin := freePort(t), freePort(t), freePort(t)
	dataDir := t.TempDir()
	cfg := strings.NewReplacer(append([]string{
		"localhost:8080", fmt.Sprintf("localhost:%d", site),
		"localhost:8081", fmt.Sprintf("localhost:%d", upstream),
	}, edits...)...).Replace(string(src))
	cfg = strings.Replace(cfg, "{\n", fmt.Sprintf("{\n\tadmin localhost:%d\n\tstorage file_system %s\n", admin, filepath.Join(dataDir, "storage")), 1)
	n := startNode(t, cfg, dataDir, site, admin)
	n.password = "demo"
	return n
}

func startNode(t *testing.T, caddyfile, dataDir string, site, admin int) *node {
	t.Helper()
	file := filepath.Join(dataDir, "Caddyfile")
	if err := os.WriteFile(file, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	n := &node{t: t, url: fmt.Sprintf("http://localhost:%d", site), admin: fmt.Sprintf("http://localhost:%d", admin),
		dataDir: dataDir, log: new(logBuffer), password: "integration"}
	n.cmd = exec.Command(binary, "run", "--config", file, "--adapter", "caddyfile")
	n.cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+filepath.Join(dataDir, "data"), "XDG_CONFIG_HOME="+filepath.Join(dataDir, "config"))
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get(n.admin + "/config/"); err == nil {
			resp.Body.Close()
			if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", site)); err == nil {
				c.Close()
				return n
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("caddy did not start:\n%s", n.log)
		}
		time.Sleep(50 * time.Millisecond) // polling a starting process: no clock to fake
	}
}

func (n *node) stop() {
	if n.cmd.Process != nil {
		_ = n.cmd.Process.Kill()
		_ = n.cmd.Wait()
	}
	if n.t.Failed() {
		n.t.Logf("caddy log:\n%s", n.log)
	}
}

// oathtool makes the code of a Base32 secret at time at: an implementation nobody here wrote.
// Extra arguments choose the algorithm, digits and step (--totp=SHA256 --digits=8 ...).
func oathtool(t *testing.T, secret string, at time.Time, extra ...string) string {
	t.Helper()
	path, err := exec.LookPath("oathtool")
	if err != nil {
		t.Fatal("oathtool is not installed (make test installs it: apt-get install oathtool)")
	}
	mode := "--totp"
	for _, e := range extra {
		if strings.HasPrefix(e, "--totp=") {
			mode = "" // the extra argument names the mode; oathtool takes it once
		}
	}
	args := append([]string{"-b", "--now", at.UTC().Format("2006-01-02 15:04:05 UTC")}, extra...)
	if mode != "" {
		args = append(args, mode)
	}
	out, err := exec.Command(path, append(args, secret)...).Output()
	if err != nil {
		t.Fatalf("oathtool: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// apiClient speaks the site's JSON API with a cookie jar, as a script would.
type apiClient struct {
	t    *testing.T
	base string
	http *http.Client
	csrf string
}

func newAPIClient(t *testing.T, base string) *apiClient {
	jar, _ := cookiejar.New(nil)
	return &apiClient{t: t, base: base, http: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *apiClient) call(method, path string, body any, out any, header ...string) int {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequestWithContext(context.Background(), method, c.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if s, ok := out.(*string); ok {
			*s = string(raw)
		} else if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode
}

// signIn signs user in on the node through the API, keeping the session's CSRF token.
func (n *node) signIn(t *testing.T, user string) *apiClient {
	t.Helper()
	c := newAPIClient(t, n.url)
	var login struct {
		CSRFToken string `json:"csrf_token"`
	}
	if code := c.call("POST", "/.mfa/api/login", map[string]string{"username": user, "password": n.password}, &login); code != http.StatusOK {
		t.Fatalf("login %s on %s: %d", user, n.url, code)
	}
	c.csrf = login.CSRFToken
	return c
}

// enrol creates and enables a virtual device in the session, with oathtool codes of the step of
// at and the one before; the client keeps the new session's CSRF token.
func (c *apiClient) enrol(t *testing.T, name string, at time.Time) (serial, secret string) {
	t.Helper()
	var created struct{ Serial, Secret string }
	if code := c.call("POST", "/.mfa/api/devices/virtual", map[string]string{"name": name}, &created); code != http.StatusOK {
		t.Fatalf("create: %d", code)
	}
	var enabled struct {
		CSRFToken string `json:"csrf_token"`
	}
	if code := c.call("POST", "/.mfa/api/devices/"+created.Serial+"/enable", map[string]string{
		"code1": oathtool(t, created.Secret, at.Add(-30*time.Second)), "code2": oathtool(t, created.Secret, at)}, &enabled); code != http.StatusOK {
		t.Fatalf("enable: %d", code)
	}
	c.csrf = enabled.CSRFToken
	return created.Serial, created.Secret
}

// fileStorageCaddyfile is a node's config: Caddy's file storage under dataDir, demo as the one
// user, the gated site answering "app".
func fileStorageCaddyfile(dataDir string, site, admin int) string {
	return fmt.Sprintf(`{
	admin localhost:%d
	storage file_system %s
	mfa {
		user demo $2a$04$yDkr1gRCtNQojfOxyVfbx.uKfwuhdsC.MfBohx1nJLI5Gn91mCrgS
	}
}
http://localhost:%d {
	bind 127.0.0.1
	mfa
	respond "app"
}
`, admin, filepath.Join(dataDir, "storage"), site)
}
