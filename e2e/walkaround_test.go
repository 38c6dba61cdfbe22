package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// walkPolicy lets anyone read /public/*, nobody into /admin/*, and a signed-in user with MFA
// everywhere else.
const walkPolicy = `{"Version": "2026-11-01", "Statement": [
	{"Sid": "Public", "Effect": "Allow", "Action": "GET", "Resource": "/public/*"},
	{"Sid": "NoAdmin", "Effect": "Deny", "Action": "*", "Resource": "/admin/*"},
	{"Sid": "Members", "Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": {"mfa:Present": "true"}}}]}`

// signedInPolicy lets any user an earlier handler signed in through, factor or not.
const signedInPolicy = `{"Version": "2026-11-01", "Statement": [
	{"Sid": "SignedIn", "Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Null": {"user:Id": "false"}}}]}`

// echoUpstream answers with what it received: method, escaped path and headers, as JSON.
func echoUpstream(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(echoed{Method: r.Method, Path: r.URL.EscapedPath(), Header: r.Header})
	}))
	t.Cleanup(srv.Close)
	return srv
}

type echoed struct {
	Method string
	Path   string
	Header http.Header
}

// rawRequest sends a request line exactly as written, with no client library to clean it.
func rawRequest(t *testing.T, addr, method, target string, headers ...string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	req := method + " " + target + " HTTP/1.1\r\nHost: " + addr + "\r\nConnection: close\r\n"
	for i := 0; i+1 < len(headers); i += 2 {
		req += headers[i] + ": " + headers[i+1] + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// startWalkNode runs one Caddy with three gated sites: a file_server, a reverse_proxy to
// upstream, and forward_auth to auth in front of the same upstream.
func startWalkNode(t *testing.T, upstream, auth string) (n *node, files, proxy, forward string) {
	dataDir := t.TempDir()
	root := filepath.Join(dataDir, "www")
	for path, body := range map[string]string{"public/a.txt": "public a", "secret.txt": "SECRET", "admin/x.txt": "ADMIN"} {
		_ = os.MkdirAll(filepath.Dir(filepath.Join(root, path)), 0o755)
		if err := os.WriteFile(filepath.Join(root, path), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	walk, signedIn := filepath.Join(dataDir, "walk.json"), filepath.Join(dataDir, "signed-in.json")
	_ = os.WriteFile(walk, []byte(walkPolicy), 0o644)
	_ = os.WriteFile(signedIn, []byte(signedInPolicy), 0o644)
	fileSite, proxySite, forwardSite, admin := freePort(t), freePort(t), freePort(t), freePort(t)
	cfg := fmt.Sprintf(`{
	admin localhost:%d
	storage file_system %s
	mfa {
		user demo $2a$10$xOIN849IIdv2iZqUoKDGHubd3BrVUEN4LkRn70CkGswYhezn7FHvK
	}
}
http://127.0.0.1:%d {
	mfa {
		policy %s
	}
	root * %s
	file_server
}
http://127.0.0.1:%d {
	mfa {
		policy %s
	}
	reverse_proxy %s
}
http://127.0.0.1:%d {
	mfa {
		identity {http.request.header.Remote-User}
		policy %s
	}
	forward_auth %s {
		uri /auth
		copy_headers Remote-User
	}
	reverse_proxy %s
}
`, admin, filepath.Join(dataDir, "storage"), fileSite, walk, root, proxySite, walk, strings.TrimPrefix(upstream, "http://"),
		forwardSite, signedIn, strings.TrimPrefix(auth, "http://"), strings.TrimPrefix(upstream, "http://"))
	n = startNode(t, cfg, dataDir, fileSite, admin)
	n.url, n.password = fmt.Sprintf("http://127.0.0.1:%d", proxySite), "demo"
	return n, fmt.Sprintf("127.0.0.1:%d", fileSite), fmt.Sprintf("127.0.0.1:%d", proxySite), fmt.Sprintf("127.0.0.1:%d", forwardSite)
}

// TestWalkAroundTheGate attacks a real Caddy with a real file_server and a reverse_proxy behind
// the gate: no spelling of a path reaches a file the policy did not allow, and a proxied
// upstream gets exactly the canonical request, the gate's identity headers and no credential
// of the gateway's.
func TestWalkAroundTheGate(t *testing.T) {
	upstream := echoUpstream(t)
	auth := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(auth.Close)
	_, files, proxy, _ := startWalkNode(t, upstream.URL, auth.URL)

	fileServerServesOnlyWhatIsAllowed(t, files)

	// What a proxied upstream receives, anonymously.
	anonymousUpstreamGetsTheCanonicalRequest(t, proxy)

	// Signed in with MFA: the upstream knows who, and never sees the session cookie.
	memberUpstreamKnowsWhoButNotTheCookie(t, proxy)
}

// fileServerServesOnlyWhatIsAllowed checks that the public file is served and that no spelling of
// a path to the secret or the admin files, in any spelling of GET or HEAD, reaches them.
func fileServerServesOnlyWhatIsAllowed(t *testing.T, files string) {
	t.Helper()
	if code, body := rawRequest(t, files, "GET", "/public/a.txt"); code != 200 || body != "public a" {
		t.Fatalf("the public file: %d %q", code, body)
	}
	for _, target := range []string{
		"/secret.txt", "/public/../secret.txt", "/public/%2e%2e/secret.txt", "/public/%2E%2E/secret.txt",
		"/public/.%2e/secret.txt", "/public/%2e./secret.txt", "/public//../secret.txt", "/public/./../secret.txt",
		"/public/..%2fsecret.txt", "/public/..%2Fsecret.txt", "/public%2f..%2fsecret.txt", "/public/%2e%2e%2fsecret.txt",
		"/public/..%5csecret.txt", `/public/..\secret.txt`, "/public/..;/secret.txt", "/public/%252e%252e/secret.txt",
		"/public/a.txt/../../secret.txt", "/public/../../../secret.txt",
		"/admin/x.txt", "//admin/x.txt", "/./admin/x.txt", "/%2e/admin/x.txt", "/public/../admin/x.txt",
		"/admin%2fx.txt", "/%61dmin/x.txt", "///admin//x.txt", "/admin;/x.txt",
		// Case and near misses of the allowed head (the policy refuses a path by its literal
		// head before the glob).
		"/PUBLIC/../secret.txt", "/Public/%2e%2e/secret.txt", "/public../secret.txt", "/publi%63/../secret.txt",
		"/ADMIN/x.txt", "/Admin/x.txt", "/admin/X.TXT",
	} {
		for _, method := range []string{"GET", "get", "HEAD"} {
			code, body := rawRequest(t, files, method, target)
			if code == 200 || strings.Contains(body, "SECRET") || strings.Contains(body, "ADMIN") {
				t.Errorf("%s %s reached the file server: %d %q", method, target, code, body)
			}
		}
	}
}

// anonymousUpstreamGetsTheCanonicalRequest sends an uncanonical anonymous request with forged
// identity headers and the gateway's cookie, and checks what the proxied upstream received.
func anonymousUpstreamGetsTheCanonicalRequest(t *testing.T, proxy string) {
	t.Helper()
	code, body := rawRequest(t, proxy, "get", "/x/..//public/%61/%7e?q=1",
		"X_MFA_User", "mallory", "X-MFA-Present", "true", "Connection", "keep-alive, X-Mfa-Auth-Type",
		"Cookie", "theme=dark; caddy_mfa=stolen; lang=en")
	var got echoed
	if code != 200 || json.Unmarshal([]byte(body), &got) != nil {
		t.Fatalf("anonymous public request: %d %s", code, body)
	}
	switch {
	case got.Method != "GET" || got.Path != "/public/a/~":
		t.Errorf("the upstream got %s %s, want GET /public/a/~", got.Method, got.Path)
	case got.Header.Get("X-Mfa-Auth-Type") != "anonymous" || got.Header.Get("X-Mfa-Present") != "" || got.Header.Get("X_mfa_user") != "":
		t.Errorf("identity headers: %v", got.Header)
	case strings.Join(got.Header.Values("Cookie"), "|") != "theme=dark; lang=en":
		t.Errorf("cookies: %q", got.Header.Values("Cookie"))
	}
}

// memberUpstreamKnowsWhoButNotTheCookie signs demo in through the proxy with a factor and checks
// that the upstream gets demo's identity headers, not forged ones, and never the session cookie.
func memberUpstreamKnowsWhoButNotTheCookie(t *testing.T, proxy string) {
	t.Helper()
	c := newAPIClient(t, "http://"+proxy)
	var login struct {
		CSRFToken string `json:"csrf_token"`
	}
	if code := c.call("POST", "/.mfa/api/login", map[string]string{"username": "demo", "password": "demo"}, &login); code != 200 {
		t.Fatalf("login: %d", code)
	}
	c.csrf = login.CSRFToken
	c.enrol(t, "phone", time.Now())
	var got echoed
	if code := c.call("POST", "/members/../app", nil, &got, "Cookie", "theme=dark", "X-Mfa-User", "mallory", "Connection", "X-Mfa-User"); code != 200 {
		t.Fatalf("member request: %d", code)
	}
	if got.Path != "/app" || got.Header.Get("X-Mfa-User") != "demo" || got.Header.Get("X-Mfa-Present") != "true" {
		t.Errorf("member request: %s %v", got.Path, got.Header)
	}
	for _, v := range got.Header.Values("Cookie") {
		if strings.Contains(v, "caddy_mfa") {
			t.Errorf("the upstream got the session cookie: %q", v)
		}
	}
}

// TestIdentityFromForwardAuthCannotBeForged: with forward_auth in front, a client's own
// Remote-User never becomes the identity, on the gate's pages and API or at the upstream.
func TestIdentityFromForwardAuthCannotBeForged(t *testing.T) {
	upstream := echoUpstream(t)
	auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Auth-Token") == "alice-token" {
			w.Header().Set("Remote-User", "alice")
			return
		}
		http.Error(w, "who are you?", http.StatusUnauthorized)
	}))
	t.Cleanup(auth.Close)
	_, _, _, forward := startWalkNode(t, upstream.URL, auth.URL)

	for _, path := range []string{"/.mfa/api/whoami", "/.mfa/devices", "/app", "/.mfa/../app"} {
		code, body := rawRequest(t, forward, "GET", path, "Remote-User", "bob")
		if code != http.StatusUnauthorized || strings.Contains(body, "bob") {
			t.Errorf("no credential, Remote-User bob, %s: %d %s", path, code, body)
		}
	}
	if code, body := rawRequest(t, forward, "POST", "/.mfa/api/devices/virtual", "Remote-User", "bob", "Content-Type", "application/json"); code != http.StatusUnauthorized {
		t.Errorf("enrolling as bob without a credential: %d %s", code, body)
	}
	code, body := rawRequest(t, forward, "GET", "/.mfa/api/whoami", "X-Auth-Token", "alice-token", "Remote-User", "bob")
	var who struct {
		User     string `json:"user"`
		AuthType string `json:"auth_type"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &who) != nil || who.User != "alice" || who.AuthType != "external" {
		t.Errorf("alice claiming to be bob, whoami: %d %s", code, body)
	}
	code, body = rawRequest(t, forward, "GET", "/app", "X-Auth-Token", "alice-token", "Remote-User", "bob", "X-MFA-User", "bob")
	var got echoed
	if code != 200 || json.Unmarshal([]byte(body), &got) != nil {
		t.Fatalf("alice at the app: %d %s", code, body)
	}
	if got.Header.Get("X-Mfa-User") != "alice" || got.Header.Get("Remote-User") != "alice" {
		t.Errorf("the upstream got X-Mfa-User %q, Remote-User %q, want alice", got.Header.Get("X-Mfa-User"), got.Header.Get("Remote-User"))
	}
}
