package gate_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/gate"
	"github.com/caddy-mfa/caddy-mfa/session"
)

// memberCredentials are an MFA session token and session cookie ("name=value") for alice.
func memberCredentials(t *testing.T, e *env) (token, cookie string) {
	t.Helper()
	now := e.Clock.Now()
	claims := session.Claims{User: "alice", Groups: []string{"dev"}, Issued: now, SignedIn: now, Expires: now.Add(time.Hour),
		MFATime: now, Method: "virtual", SessionID: session.NewSessionID()}
	token, err := e.Ops.Ring.Sign(&claims)
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	if err := e.Ops.Cookies.Write(w, httptest.NewRequest("GET", "/", nil), claims); err != nil {
		t.Fatal(err)
	}
	c := w.Result().Cookies()[0]
	return token, c.Name + "=" + c.Value
}

// TestForgedIdentityHeadersNeverReachTheUpstream: whatever spelling a client uses, the
// upstream sees only the gate's identity headers, under every name a CGI-style upstream
// would read as them.
func TestForgedIdentityHeadersNeverReachTheUpstream(t *testing.T) {
	e := walkEnv(t)
	token, _ := memberCredentials(t, e)
	forged := []string{"X-MFA-User", "x-mfa-user", "X-Mfa-User", "X_MFA_User", "x_mfa_user", "X-Mfa_User", "X_Mfa-User",
		"X-MFA-Present", "X_MFA_PRESENT", "X-MFA-Groups", "X-Mfa-Age", "X-MFA-Method", "X-MFA-Auth-Type", "X-MFA-Anything"}
	for _, auth := range [][]string{nil, {"Authorization", "Bearer " + token}} {
		for _, name := range forged {
			headers := append([]string{name, "mallory"}, auth...)
			resp := rawRequest(t, e, "GET", "/public/a", "app.example.com", headers...)
			up := e.Seen.Take()
			if resp.StatusCode != 200 || up == nil {
				t.Fatalf("%s: %d", name, resp.StatusCode)
			}
			for k, v := range up.Header {
				if strings.HasPrefix(cgiName(k), "x-mfa-") && strings.Contains(strings.Join(v, ","), "mallory") {
					t.Errorf("%s with %d credential headers: the upstream got %s: %v", name, len(auth)/2, k, v)
				}
			}
			if want := map[bool]string{true: "alice", false: ""}[auth != nil]; up.Header.Get("X-Mfa-User") != want {
				t.Errorf("%s: X-Mfa-User %q, want %q", name, up.Header.Get("X-Mfa-User"), want)
			}
		}
	}
}

// TestConnectionCannotDropTheIdentityHeaders: a proxy removes the headers Connection names, so
// the gate takes its own headers' names out of Connection, in every spelling and position.
func TestConnectionCannotDropTheIdentityHeaders(t *testing.T) {
	e := walkEnv(t)
	token, _ := memberCredentials(t, e)
	// Through the server: a second Connection line is cleaned too.
	resp := rawRequest(t, e, "GET", "/public/a", "app.example.com", "Authorization", "Bearer "+token,
		"Connection", "X-Mfa-User", "Connection", "x-mfa-present, X-Other")
	up := e.Seen.Take()
	if resp.StatusCode != 200 || up == nil {
		t.Fatalf("%d", resp.StatusCode)
	}
	for _, v := range up.Header.Values("Connection") {
		if strings.Contains(strings.ToLower(v), "mfa") {
			t.Errorf("the upstream got Connection %q", v)
		}
	}
	if up.Header.Get("X-Mfa-User") != "alice" || up.Header.Get("X-Mfa-Present") != "true" {
		t.Errorf("identity headers: %v", up.Header)
	}
}

// TestTheGatewaysCredentialsStayAtTheGateway: the session cookie, a session token and an
// access key are not passed on; every other cookie reaches the upstream byte for byte.
func TestTheGatewaysCredentialsStayAtTheGateway(t *testing.T) {
	e := walkEnv(t)
	token, own := memberCredentials(t, e)
	name, value, _ := strings.Cut(own, "=")
	cases := []struct{ sent, want string }{
		{own, ""},
		{"theme=dark; " + own, "theme=dark"},
		{own + "; theme=dark", "theme=dark"},
		{"a=1; " + own + "; b=\"x y\"", "a=1; b=\"x y\""},
		{"a=1;" + own + ";b=2", "a=1; b=2"},
		{"__Host-" + own + "; a=1", "a=1"},
		{own + "; __Host-" + name + "=forged; " + name + "=again", ""},
		{name + "_other=1; x" + name + "=2; " + own, name + "_other=1; x" + name + "=2"},
		{name + "=\"" + value + "\"; keep=me", "keep=me"},
		{name + "_remember=abc.def; __Host-" + name + "_remember=x; keep=me", "keep=me"},
	}
	for _, c := range cases {
		resp := rawRequest(t, e, "GET", "/public/x", "app.example.com", "Cookie", c.sent)
		up := e.Seen.Take()
		if resp.StatusCode != 200 || up == nil {
			t.Errorf("Cookie %q: %d", c.sent, resp.StatusCode)
			continue
		}
		if got := strings.Join(up.Header.Values("Cookie"), " | "); got != c.want {
			t.Errorf("Cookie %q reached the upstream as %q, want %q", c.sent, got, c.want)
		}
	}
	// The cookie signs the caller in, and still does not reach the upstream.
	rawRequest(t, e, "GET", "/members/x", "app.example.com", "Cookie", "theme=dark; "+own)
	if up := e.Seen.Take(); up == nil || up.Header.Get("Cookie") != "theme=dark" || up.Header.Get("X-Mfa-User") != "alice" {
		t.Errorf("signed in by cookie: the upstream got %v", up)
	}
	// Two Cookie lines, as HTTP/2 may send them.
	rawRequest(t, e, "GET", "/members/x", "app.example.com", "Cookie", own, "Cookie", "a=1")
	if up := e.Seen.Take(); up == nil || strings.Join(up.Header.Values("Cookie"), "|") != "a=1" {
		t.Errorf("two Cookie lines: %s", strings.Join(up.Header.Values("Cookie"), "|"))
	}
	// A session token is the gateway's credential too; another scheme is the app's own.
	rawRequest(t, e, "GET", "/members/x", "app.example.com", "Authorization", "Bearer "+token)
	if up := e.Seen.Take(); up == nil || up.Header.Get("Authorization") != "" {
		t.Errorf("the upstream got the session token")
	}
	rawRequest(t, e, "GET", "/public/x", "app.example.com", "Authorization", "Digest username=app")
	if up := e.Seen.Take(); up == nil || up.Header.Get("Authorization") != "Digest username=app" {
		t.Errorf("the app's own Authorization was dropped")
	}
}

// TestOverrideHeadersNeverReachTheUpstream: headers with which upstreams take another path or
// method than the request line's are removed, in every spelling, so the upstream acts on what
// the gate judged.
func TestOverrideHeadersNeverReachTheUpstream(t *testing.T) {
	e := walkEnv(t)
	for _, name := range []string{"X-Original-URL", "x-original-url", "X_Original_URL", "X-Rewrite-URL", "X-Override-URL",
		"X-HTTP-Method-Override", "X-Http-Method-Override", "x_http_method_override", "X-HTTP-Method", "X-Method-Override"} {
		resp := rawRequest(t, e, "GET", "/public/a", "app.example.com", name, "/admin/x")
		up := e.Seen.Take()
		if resp.StatusCode != 200 || up == nil {
			t.Fatalf("%s: %d", name, resp.StatusCode)
		}
		for k := range up.Header {
			if cgiName(k) == cgiName(name) {
				t.Errorf("%s reached the upstream as %s", name, k)
			}
		}
	}
}

// TestSeveralGatesOnOneRequest: every gate on a request sees the caller's credential, though
// each takes it out of what goes on; the upstream gets it from none of them.
func TestSeveralGatesOnOneRequest(t *testing.T) {
	e := walkEnv(t)
	second := e.NewGate(gate.Options{Vars: requestVarsForTest})
	first := e.NewGate(gate.Options{Vars: requestVarsForTest})
	token, cookie := memberCredentials(t, e)
	for _, cred := range [][]string{{"Authorization", "Bearer " + token}, {"Cookie", cookie + "; theme=dark"}} {
		r := httptest.NewRequest("GET", "http://app.example.com/members/x", nil)
		r.Header.Set(cred[0], cred[1])
		r = r.WithContext(context.WithValue(r.Context(), testVarsKey{}, map[string]any{}))
		for i, g := range []*gate.Gate{first, second} {
			w := httptest.NewRecorder()
			if user, ok := g.Check(w, r); !ok || user != "alice" {
				t.Fatalf("%s: gate %d: %q %v %d", cred[0], i+1, user, ok, w.Code)
			}
		}
		if r.Header.Get("Authorization") != "" || r.Header.Get("Cookie") != map[string]string{"Cookie": "theme=dark"}[cred[0]] {
			t.Errorf("%s: the upstream would get Authorization %q, Cookie %q", cred[0], r.Header.Get("Authorization"), r.Header.Get("Cookie"))
		}
		if r.Header.Get("X-Mfa-User") != "alice" || r.Header.Get("X-Mfa-Age") != "0" {
			t.Errorf("%s: identity headers %v", cred[0], r.Header)
		}
	}
}

type testVarsKey struct{}

func requestVarsForTest(r *http.Request) map[string]any {
	vars, _ := r.Context().Value(testVarsKey{}).(map[string]any)
	return vars
}

// TestACookieIsNoBearerToken: session cookies are signed, not encrypted, so the token inside
// one can be read out (by an app or a log that saw the cookie); as a Bearer token it is refused.
func TestACookieIsNoBearerToken(t *testing.T) {
	e := walkEnv(t)
	_, cookie := memberCredentials(t, e)
	_, value, _ := strings.Cut(cookie, "=")
	outer, err := base64.URLEncoding.DecodeString(value)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(string(outer), "|")
	inner, err := base64.URLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	token := regexp.MustCompile(`[A-Za-z0-9_-]{100,}`).FindString(string(inner))
	if token == "" {
		t.Fatalf("no token inside the cookie")
	}
	if _, err := e.Ops.Ring.Verify(token, e.Clock.Now()); err != nil {
		t.Fatalf("what was read out is not the cookie's token: %v", err)
	}
	if resp := rawRequest(t, e, "GET", "/members/x", "app.example.com", "Authorization", "Bearer "+token); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the cookie's token as a Bearer token: %d", resp.StatusCode)
	}
	if e.Seen.Take() != nil {
		t.Fatal("the upstream got the request")
	}
	if resp := rawRequest(t, e, "GET", "/members/x", "app.example.com", "Cookie", cookie); resp.StatusCode != http.StatusOK {
		t.Fatalf("the cookie itself: %d", resp.StatusCode)
	}
}

// TestTrailersAreRefused: trailers come after the gate has decided, and once a request
// declares any, every trailer the client sends goes on: a request with trailers is refused
// before anything is passed on, whatever names it declares.
func TestTrailersAreRefused(t *testing.T) {
	e := walkEnv(t)
	for _, declared := range []string{"X-Mfa-User", "x_mfa_present", "X-Original-URL", "Foo"} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(e.Server.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		req := "POST /public/a HTTP/1.1\r\nHost: app.example.com\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n" +
			"Trailer: " + declared + "\r\n\r\n5\r\nhello\r\n0\r\nFoo: 1\r\nX-MFA-User: admin\r\nX-Original-URL: /admin/x\r\n\r\n"
		_, _ = conn.Write([]byte(req))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		if up := e.Seen.Take(); resp.StatusCode != http.StatusBadRequest || up != nil {
			t.Errorf("trailer %s declared: %d, upstream got %s", declared, resp.StatusCode, describe(up))
		}
	}
}

// cgiName is a header name as CGI-style upstreams read it: lower case, _ for -.
func cgiName(name string) string { return strings.ReplaceAll(strings.ToLower(name), "_", "-") }
