package caddymodule

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/caddy-mfa/caddy-mfa/factors"
)

// dataDir holds what in-process Caddy writes (storage), configDir its generated keys, not the
// home folder. Caddy fixes its default storage path when its package loads, before TestMain
// runs, so the configs name their storage explicitly.
var dataDir, configDir string

// The site and admin ports are free ones, so that test runs in two checkouts at once do not
// meet; the Caddyfiles name the admin address as {$MFA_TEST_ADMIN}.
var (
	integrationPort int
	adminAddress    string
	adminURL        string
)

func TestMain(m *testing.M) {
	integrationPort = freePort()
	adminPort := freePort()
	adminAddress = fmt.Sprintf("localhost:%d", adminPort)
	adminURL = "http://" + adminAddress
	caddytest.Default.AdminPort = adminPort
	os.Setenv("MFA_TEST_ADMIN", adminAddress)
	var err error
	if dataDir, err = os.MkdirTemp("", "caddy-mfa-test-"); err != nil {
		panic(err)
	}
	if configDir, err = os.MkdirTemp("", "caddy-mfa-test-config-"); err != nil {
		panic(err)
	}
	os.Setenv("XDG_DATA_HOME", dataDir)
	os.Setenv("XDG_CONFIG_HOME", configDir)
	code := m.Run()
	os.RemoveAll(dataDir)
	os.RemoveAll(configDir)
	os.Exit(code)
}

// freePort asks the kernel for a port nobody listens on.
func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startCaddy loads config into an in-process Caddy (caddytest). caddytest skips when Caddy
// cannot start; here that is a failure: make test runs every test.
func startCaddy(t *testing.T, caddyfile string) {
	t.Helper()
	loaded := false
	t.Run("start caddy", func(st *testing.T) {
		caddytest.NewTester(st).InitServer(caddyfile, "caddyfile")
		loaded = true
	})
	if !loaded {
		t.Fatal("in-process Caddy did not start or refused the config")
	}
}

type browser struct {
	t      *testing.T
	client *http.Client
	csrf   string
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	// A connection per request: a kept-alive one may belong to the server of a config that a
	// reload has since retired, which closes it under a POST (EOF, and no retry).
	transport := &http.Transport{DisableKeepAlives: true}
	return &browser{t: t, client: &http.Client{Jar: jar, Timeout: 10 * time.Second, Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path, body string, header ...string) (int, http.Header, string) {
	b.t.Helper()
	req, _ := http.NewRequest(method, fmt.Sprintf("http://localhost:%d%s", integrationPort, path), strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if b.csrf != "" {
		req.Header.Set("X-CSRF-Token", b.csrf)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(raw)
}

func field(t *testing.T, body, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	s, _ := m[name].(string)
	return s
}

// TestInProcessCaddy runs the module inside Caddy: config from a Caddyfile, Caddy's storage,
// generated keys, the upstream behind the gate, the user placeholder.
func TestInProcessCaddy(t *testing.T) {
	startCaddy(t, fmt.Sprintf(`{
	admin {$MFA_TEST_ADMIN}
	http_port %d
	storage file_system %s
	mfa {
		issuer "integration"
		user alice $2a$04$yDkr1gRCtNQojfOxyVfbx.uKfwuhdsC.MfBohx1nJLI5Gn91mCrgS {
			groups admins
		}
	}
}
http://localhost:%d {
	mfa
	respond "user={http.auth.user.id} header={http.request.header.X-MFA-User} method={http.request.header.X-MFA-Method}"
}
`, integrationPort, dataDir, integrationPort))

	b := newBrowser(t)
	if code, h, _ := b.do("GET", "/", "", "Accept", "text/html"); code != http.StatusFound || h.Get("Location") != "/.mfa/login?return=%2F" {
		t.Fatalf("anonymous browser: %d %q", code, h.Get("Location"))
	}
	code, _, body := b.do("POST", "/.mfa/api/login", `{"username":"alice","password":"integration"}`)
	if code != http.StatusOK {
		t.Fatalf("login: %d %s", code, body)
	}
	b.csrf = field(t, body, "csrf_token")
	code, _, body = b.do("POST", "/.mfa/api/devices/virtual", `{"name":"phone"}`)
	if code != http.StatusOK {
		t.Fatalf("create: %d %s", code, body)
	}
	serial, secret := field(t, body, "serial"), field(t, body, "secret")
	seed, err := factors.DecodeSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	now := factors.VirtualTOTP.Step(time.Now())
	c1, _ := factors.VirtualTOTP.Code(seed, now-1)
	c2, _ := factors.VirtualTOTP.Code(seed, now)
	code, _, body = b.do("POST", "/.mfa/api/devices/"+serial+"/enable", fmt.Sprintf(`{"code1":%q,"code2":%q}`, c1, c2))
	if code != http.StatusOK {
		t.Fatalf("enable: %d %s", code, body)
	}
	code, _, body = b.do("GET", "/", "", "X-MFA-User", "mallory")
	if code != http.StatusOK || body != "user=alice header=alice method=virtual" {
		t.Fatalf("upstream: %d %q", code, body)
	}
	resp, err := http.Get(adminURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	metrics, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`caddy_mfa_decisions_total{outcome="allowed"} 1`, `caddy_mfa_decisions_total{outcome="challenged"} 1`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestSeveralHandlersAndTheAdminAPI: two mfa handlers on one request must both allow it, and
// the admin API's simulator finds both from the request alone.
func TestSeveralHandlersAndTheAdminAPI(t *testing.T) {
	startCaddy(t, fmt.Sprintf(`{
	admin {$MFA_TEST_ADMIN}
	http_port %d
	storage file_system %s
	mfa {
		user alice $2a$04$yDkr1gRCtNQojfOxyVfbx.uKfwuhdsC.MfBohx1nJLI5Gn91mCrgS {
			groups admins
		}
	}
}
http://localhost:%d {
	mfa
	mfa /ops/* {
		groups ops
	}
	respond "ok"
}
`, integrationPort, dataDir, integrationPort))

	admin := func(method, path, body string) (int, string) { return adminRequest(t, method, path, body) }
	// An operator's user, enrolled through the API.
	if code, body := admin("POST", "/mfa/users", `{"name":"dave","password":"dave-password","groups":["admins"]}`); code != http.StatusCreated {
		t.Fatalf("admin create user: %d %s", code, body)
	}
	d := newBrowser(t)
	code, _, body := d.do("POST", "/.mfa/api/login", `{"username":"dave","password":"dave-password"}`)
	if code != http.StatusOK {
		t.Fatalf("dave's login: %d %s", code, body)
	}
	d.csrf = field(t, body, "csrf_token")
	_, _, body = d.do("POST", "/.mfa/api/devices/virtual", `{"name":"phone"}`)
	seed, _ := factors.DecodeSecret(field(t, body, "secret"))
	serial := field(t, body, "serial")
	now := factors.VirtualTOTP.Step(time.Now())
	c1, _ := factors.VirtualTOTP.Code(seed, now-1)
	c2, _ := factors.VirtualTOTP.Code(seed, now)
	if code, _, body := d.do("POST", "/.mfa/api/devices/"+serial+"/enable", fmt.Sprintf(`{"code1":%q,"code2":%q}`, c1, c2)); code != http.StatusOK {
		t.Fatalf("enable: %d %s", code, body)
	}
	if code, _, _ := d.do("GET", "/", ""); code != http.StatusOK {
		t.Fatalf("first handler alone: %d", code)
	}
	if code, _, body := d.do("GET", "/ops/x", ""); code != http.StatusForbidden || !strings.Contains(body, "AccessDenied") {
		t.Fatalf("the second handler must refuse dave (not in ops): %d %s", code, body)
	}
	code, body = admin("POST", "/mfa/policy/simulate", `{"request":{"method":"GET","host":"localhost","path":"/ops/x"},
		"context":{"user:Id":"dave","user:Groups":["admins"],"mfa:Present":true,"mfa:Age":5}}`)
	if code != http.StatusOK || !strings.Contains(body, `"decision":"explicitDeny"`) || !strings.Contains(body, `"remedy":"forbidden"`) || !strings.Contains(body, `caddyfile#Groups`) {
		t.Fatalf("simulate by route: %d %s", code, body)
	}
	code, body = admin("GET", "/mfa/users", "")
	if code != http.StatusOK || !strings.Contains(body, `"name":"dave"`) || !strings.Contains(body, `"mfa_active":true`) {
		t.Fatalf("admin list users: %d %s", code, body)
	}
}

// TestIdentityFromBasicAuth: Caddy's basic_auth signs the user in, the mfa handler adds the
// second factor to that sign-in (identity mode).
func TestIdentityFromBasicAuth(t *testing.T) {
	startCaddy(t, fmt.Sprintf(`{
	admin {$MFA_TEST_ADMIN}
	http_port %d
	storage file_system %s
}
http://localhost:%d {
	basic_auth {
		erin $2a$04$yDkr1gRCtNQojfOxyVfbx.uKfwuhdsC.MfBohx1nJLI5Gn91mCrgS
	}
	mfa {
		identity {http.auth.user.id}
	}
	respond "user={http.auth.user.id} type={http.request.header.X-MFA-Auth-Type}"
}
`, integrationPort, dataDir, integrationPort))
	b := newBrowser(t)
	auth := []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("erin:integration"))}
	if code, _, _ := b.do("GET", "/", ""); code != http.StatusUnauthorized {
		t.Fatalf("without basic auth: %d", code)
	}
	code, _, body := b.do("GET", "/", "", auth...)
	if code != http.StatusUnauthorized || !strings.Contains(body, "MultiFactorAuthenticationRequired") {
		t.Fatalf("basic auth alone: %d %s", code, body)
	}
	code, _, body = b.do("GET", "/.mfa/api/whoami", "", auth...)
	if code != http.StatusOK || field(t, body, "auth_type") != "external" || field(t, body, "user") != "erin" {
		t.Fatalf("whoami: %d %s", code, body)
	}
	b.csrf = field(t, body, "csrf_token")
	_, _, body = b.do("POST", "/.mfa/api/devices/virtual", `{"name":"phone"}`, auth...)
	seed, err := factors.DecodeSecret(field(t, body, "secret"))
	if err != nil {
		t.Fatalf("create: %s", body)
	}
	now := factors.VirtualTOTP.Step(time.Now())
	c1, _ := factors.VirtualTOTP.Code(seed, now-1)
	c2, _ := factors.VirtualTOTP.Code(seed, now)
	if code, _, body := b.do("POST", "/.mfa/api/devices/"+field(t, body, "serial")+"/enable", fmt.Sprintf(`{"code1":%q,"code2":%q}`, c1, c2), auth...); code != http.StatusOK {
		t.Fatalf("enable: %d %s", code, body)
	}
	if code, _, body := b.do("GET", "/", "", auth...); code != http.StatusOK || body != "user=erin type=external" {
		t.Fatalf("after the factor: %d %q", code, body)
	}
}
