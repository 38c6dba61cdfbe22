package gate_test

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/gate"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/session"
)

// walkPolicy is the route policy the walk-around table attacks: public reads and posts, no
// admin area for anybody, no posts to reports, and no admin host.
const walkPolicy = `{"Statement": [
	{"Sid": "Public", "Effect": "Allow", "Action": ["GET", "POST"], "Resource": "/public/*"},
	{"Sid": "NoAdmin", "Effect": "Deny", "Action": "*", "Resource": "/admin/*"},
	{"Sid": "NoReportPosts", "Effect": "Deny", "Action": "POST", "Resource": "/public/reports/*"},
	{"Sid": "NoAdminHost", "Effect": "Deny", "Action": "*", "Resource": "admin.example.com/*"},
	{"Sid": "Members", "Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": {"mfa:Present": "true"}}}]}`

func walkEnv(t *testing.T) *env {
	return newEnv(t, func(o *gate.Options, _ *auth.Config, _ *auth.Deps) {
		d, err := policy.Parse("walk.json", []byte(walkPolicy))
		if err != nil {
			t.Fatal(err)
		}
		if o.Policy, err = policy.Compile(d); err != nil {
			t.Fatal(err)
		}
	})
}

// rawRequest sends a request line as written, with no client library to clean it first.
func rawRequest(t *testing.T, e *env, method, target, host string, headers ...string) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.Server.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	req := method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n"
	for i := 0; i+1 < len(headers); i += 2 {
		req += headers[i] + ": " + headers[i+1] + "\r\n"
	}
	if _, err := conn.Write([]byte(req + "\r\n")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	resp.Body.Close()
	return resp
}

type verdict int

// What the policy makes of an anonymous caller's request; a caller with MFA is let through
// everything but the explicit denies (the Members statement).
const (
	pass       verdict = iota // allowed by Public
	challenged                // implicitly denied: anonymous callers are asked to sign in
	denied                    // an explicit Deny
	refused                   // no canonical form: 400 before the policy
)

// walkAroundCase is one spelling of a request and what must become of it: the verdict, and what
// the upstream sees when the request goes on.
type walkAroundCase struct {
	method, target, host string
	verdict              verdict
	canon                string // what the upstream gets when it gets the request: r.URL.EscapedPath()
}

// walkAroundCases are the ways attackers spell a request to get past a path, method or host rule;
// they live outside the test so that it reads as the one rule it checks, and so that new
// spellings are added here, each under the comment of the trick it tries.
var walkAroundCases = []walkAroundCase{
	// Canonical requests pass as they are.
	{"GET", "/public/a", "app.example.com", pass, "/public/a"},
	{"GET", "/public/a/", "app.example.com", pass, "/public/a/"},
	{"GET", "/public/a?x=../../admin", "app.example.com", pass, "/public/a"},
	{"GET", "/public/.well-known", "app.example.com", pass, "/public/.well-known"},
	{"GET", "/public/...", "app.example.com", refused, ""},
	{"GET", "/admin./x", "app.example.com", refused, ""},
	{"GET", "/admin%2e/x", "app.example.com", refused, ""},
	{"GET", "/admin%20/x", "app.example.com", refused, ""},
	{"GET", "/admin.%20./x", "app.example.com", refused, ""},
	{"GET", "/public/a.", "app.example.com", refused, ""},
	{"GET", "/public/a.txt", "app.example.com", pass, "/public/a.txt"},
	{"GET", "/public/a%20b", "app.example.com", pass, "/public/a%20b"},
	// Dot segments are resolved before the policy looks: no * matches across "..".
	{"GET", "/public/../secret.txt", "app.example.com", challenged, "/secret.txt"},
	{"GET", "/public/%2e%2e/secret.txt", "app.example.com", challenged, "/secret.txt"},
	{"GET", "/public/%2E%2E/secret.txt", "app.example.com", challenged, "/secret.txt"},
	{"GET", "/public/.%2e/secret.txt", "app.example.com", challenged, "/secret.txt"},
	{"GET", "/public/%2e./secret.txt", "app.example.com", challenged, "/secret.txt"},
	{"GET", "/public/a/../../secret.txt", "app.example.com", challenged, "/secret.txt"},
	{"GET", "/public/../../../../etc/passwd", "app.example.com", challenged, "/etc/passwd"},
	{"GET", "/public/./a", "app.example.com", pass, "/public/a"},
	{"GET", "/public/a/.", "app.example.com", pass, "/public/a/"},
	{"GET", "/public/a/b/..", "app.example.com", pass, "/public/a/"},
	{"GET", "/public/a/b/%2e%2e", "app.example.com", pass, "/public/a/"},
	{"GET", "/../public/a", "app.example.com", pass, "/public/a"},
	{"GET", "/x/../public/a", "app.example.com", pass, "/public/a"},
	// Repeated slashes and dot segments cannot skip a Deny.
	{"GET", "/admin/x", "app.example.com", denied, ""},
	{"GET", "//admin/x", "app.example.com", denied, ""},
	{"GET", "///admin///x", "app.example.com", denied, ""},
	{"GET", "/./admin/x", "app.example.com", denied, ""},
	{"GET", "/%2e/admin/x", "app.example.com", denied, ""},
	{"GET", "/public/../admin/x", "app.example.com", denied, ""},
	{"GET", "/public/%2e%2e/admin/x", "app.example.com", denied, ""},
	{"GET", "/%61dmin/x", "app.example.com", denied, ""},
	{"GET", "/admin%2fx", "app.example.com", refused, ""},
	{"GET", "/public//a", "app.example.com", pass, "/public/a"},
	// Escapes of unreserved characters are decoded; other escapes stay, in upper case.
	{"GET", "/%70ublic/a", "app.example.com", pass, "/public/a"},
	{"GET", "/public/%61", "app.example.com", pass, "/public/a"},
	{"GET", "/public/%7Euser", "app.example.com", pass, "/public/~user"},
	{"GET", "/public/a%3fb", "app.example.com", pass, "/public/a%3Fb"},
	{"GET", "/public/a%23b", "app.example.com", pass, "/public/a%23b"},
	{"GET", "/public/%c3%a9", "app.example.com", pass, "/public/%C3%A9"},
	{"GET", "/public/%252e%252e/secret.txt", "app.example.com", pass, "/public/%252e%252e/secret.txt"},
	// What upstreams read as separators or parameters is refused.
	{"GET", "/public/..%2fsecret.txt", "app.example.com", refused, ""},
	{"GET", "/public/..%2Fsecret.txt", "app.example.com", refused, ""},
	{"GET", "/public%2f..%2fsecret.txt", "app.example.com", refused, ""},
	{"GET", "/public/..%5csecret.txt", "app.example.com", refused, ""},
	{"GET", `/public/..\secret.txt`, "app.example.com", refused, ""},
	{"GET", "/public/a;b", "app.example.com", refused, ""},
	{"GET", "/admin;x/y", "app.example.com", refused, ""},
	{"GET", "/..;/admin/x", "app.example.com", refused, ""},
	{"GET", "/public/..;/admin/x", "app.example.com", refused, ""},
	{"GET", "/public/%3b/x", "app.example.com", refused, ""},
	{"GET", "/public/%00", "app.example.com", refused, ""},
	{"GET", "/public/%0a", "app.example.com", refused, ""},
	{"GET", "/public/%7f", "app.example.com", refused, ""},
	// Case: a Deny covers every case of its paths (many upstreams fold case), an Allow
	// only the case it names.
	{"GET", "/PUBLIC/a", "app.example.com", challenged, "/PUBLIC/a"},
	{"GET", "/Admin/x", "app.example.com", denied, ""},
	{"GET", "/ADMIN/x", "app.example.com", denied, ""},
	{"GET", "/%41DMIN/x", "app.example.com", denied, ""},
	{"GET", "/public/REPORTS/x", "app.example.com", pass, "/public/REPORTS/x"},
	{"POST", "/public/REPORTS/x", "app.example.com", denied, ""},
	// Methods: every spelling of POST is POST, for the policy and for the upstream.
	{"POST", "/public/reports/x", "app.example.com", denied, ""},
	{"post", "/public/reports/x", "app.example.com", denied, ""},
	{"Post", "/public/reports/x", "app.example.com", denied, ""},
	{"pOsT", "/public/reports/x", "app.example.com", denied, ""},
	{"post", "/public/a", "app.example.com", pass, "/public/a"},
	{"get", "/public/a", "app.example.com", pass, "/public/a"},
	{"delete", "/public/a", "app.example.com", challenged, "/public/a"},
	// HEAD follows GET.
	{"HEAD", "/public/a", "app.example.com", pass, "/public/a"},
	{"head", "/public/a", "app.example.com", pass, "/public/a"},
	{"HEAD", "/admin/x", "app.example.com", denied, ""},
	// Hosts: one canonical spelling for host-qualified resources.
	{"GET", "/public/a", "admin.example.com", denied, ""},
	{"GET", "/public/a", "admin.example.com.", denied, ""},
	{"GET", "/public/a", "ADMIN.example.com", denied, ""},
	{"GET", "/public/a", "admin.example.com:8080", denied, ""},
	{"GET", "/public/a", "Admin.Example.Com.:443", denied, ""},
	{"GET", "/public/a", "admin.example.com..", denied, ""},
	{"GET", "http://admin.example.com/public/a", "app.example.com", denied, ""},
	{"GET", "/public/a", "admin.example.com:80:80", refused, ""},
	{"GET", "/public/a", "admin.example.com:x", refused, ""},
	{"GET", "/public/a", "admin.example.com:80x", refused, ""},
	{"GET", "/public/a", "[::1]:80:80", refused, ""},
	{"GET", "/public/a", "[::1]x", refused, ""},
	{"GET", "/public/a", "[::1]:8080", pass, "/public/a"},
	{"GET", "/public/a", "[aud:api]", refused, ""}, // a configured audience's spelling
	{"GET", "/public/a", "[AUD:API]:80", refused, ""},
	{"GET", "/public/a", "[app.example.com]", refused, ""},
	{"GET", "/public/a", "[127.0.0.1]", refused, ""},
	{"GET", "/public/a", "[]", refused, ""},
	{"GET", "/public/a", "app.example.com:", pass, "/public/a"},
	{"GET", "/public/a", "admin.example.com,", refused, ""},
	{"GET", "/public/a", "admin.example.com%2e", refused, ""},
	{"GET", "/public/a", "admin.example.com,app.example.com", refused, ""},
	{"GET", "/public/a", "my_service", pass, "/public/a"},
	// A POST may not name another method in its query (Symfony, Laravel read _method).
	{"POST", "/public/a?_method=DELETE", "app.example.com", refused, ""},
	{"POST", "/public/a?x=1&%5Fmethod=DELETE", "app.example.com", refused, ""},
	{"POST", "/public/a?_METHOD=PUT", "app.example.com", refused, ""},
	{"GET", "/public/a?_method=DELETE", "app.example.com", pass, "/public/a"},
	{"POST", "/public/a?method=fast", "app.example.com", pass, "/public/a"},
	// CONNECT with a path is judged like any method; only CONNECT host:port names no path.
	{"CONNECT", "/public/../admin/x", "app.example.com", denied, ""},
	{"CONNECT", "//admin/x", "app.example.com", denied, ""},
	{"CONNECT", "/public/../secret.txt", "app.example.com", challenged, "/secret.txt"},
	{"CONNECT", "/admin;/x", "app.example.com", refused, ""},
	{"CONNECT", "/public/..%2fadmin/x", "app.example.com", refused, ""},
	// The gateway's own site is reached only under its canonical prefix.
	{"GET", "/.mfa/../admin/x", "app.example.com", denied, ""},
}

// TestTheGateCannotBeWalkedAround sends spellings of paths, methods and hosts as an attacker
// would, anonymously and with an MFA session token, and checks both the decision and, when the
// request goes on, exactly what the upstream received: the policy and the upstream always see
// the same request.
func TestTheGateCannotBeWalkedAround(t *testing.T) {
	e := walkEnv(t)
	now := e.Clock.Now()
	member := session.Claims{User: "alice", Issued: now, SignedIn: now, Expires: now.Add(time.Hour), MFATime: now, Method: "virtual"}
	token, err := e.Ops.Ring.Sign(&member)
	if err != nil {
		t.Fatal(err)
	}
	cases := walkAroundCases
	for _, c := range cases {
		anonymous := map[verdict]int{pass: 200, challenged: 401, denied: 401, refused: 400}[c.verdict]
		checkUpstream(t, e, c.method, c.target, c.host, anonymous, c.canon)
		withMFA := map[verdict]int{pass: 200, challenged: 200, denied: 403, refused: 400}[c.verdict]
		checkUpstream(t, e, c.method, c.target, c.host, withMFA, c.canon, "Authorization", "Bearer "+token)
	}
	if len(cases) < 40 {
		t.Fatalf("only %d spellings", len(cases))
	}
}

// checkUpstream sends one request and checks its status and, when it passed, that the upstream
// got the canonical method and path.
func checkUpstream(t *testing.T, e *env, method, target, host string, status int, canon string, headers ...string) {
	t.Helper()
	resp := rawRequest(t, e, method, target, host, headers...)
	up := e.Seen.Take()
	switch {
	case resp.StatusCode != status:
		t.Errorf("%s %s (Host %s, %d headers): %d, want %d", method, target, host, len(headers)/2, resp.StatusCode, status)
	case status != 200 && up != nil:
		t.Errorf("%s %s: refused with %d, yet the upstream got %s", method, target, status, describe(up))
	case status == 200 && (up == nil || up.Method != strings.ToUpper(method) || up.URL.EscapedPath() != canon):
		t.Errorf("%s %s: the upstream got %s, want %s %s", method, target, describe(up), strings.ToUpper(method), canon)
	}
}

func describe(r *http.Request) string {
	if r == nil {
		return "nothing"
	}
	return r.Method + " " + r.URL.EscapedPath() + " (RequestURI " + r.RequestURI + ")"
}

// TestSiteUnderCanonicalPrefix: a path that only canonicalizes into the prefix is the site's,
// never the upstream's.
func TestSiteUnderCanonicalPrefix(t *testing.T) {
	e := walkEnv(t)
	for _, target := range []string{"/public/../.mfa/api/whoami", "//.mfa/api/whoami", "/%2emfa/api/whoami", "/.mfa//api/whoami"} {
		resp := rawRequest(t, e, "GET", target, "app.example.com")
		if up := e.Seen.Take(); up != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d, upstream got %s", target, resp.StatusCode, describe(up))
		}
	}
}
