package caddymodule

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// secureOnlyPolicy lets anyone fetch /secure when req:Secure is true, and nothing else.
const secureOnlyPolicy = `{"Version": "2012-10-17", "Statement": [
 {"Sid": "HTTPSOnly", "Effect": "Allow", "Action": "GET", "Resource": "/secure", "Condition": {"Bool": {"req:Secure": "true"}}}]}`

// schemeConfig is a plain-HTTP site whose server trusts proxies on localhost, or no one.
func schemeConfig(t *testing.T, trusted bool) string {
	file := filepath.Join(t.TempDir(), "secure.json")
	if err := os.WriteFile(file, []byte(secureOnlyPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	servers := ""
	if trusted {
		servers = "servers {\n\t\ttrusted_proxies static 127.0.0.1/32 ::1/128\n\t\tclient_ip_headers X-Forwarded-For\n\t}"
	}
	return fmt.Sprintf(`{
	admin {$MFA_TEST_ADMIN}
	http_port %d
	storage file_system %s
	%s
	mfa {
		issuer "scheme"
		user alice $2a$04$yDkr1gRCtNQojfOxyVfbx.uKfwuhdsC.MfBohx1nJLI5Gn91mCrgS
	}
}
http://localhost:%d {
	mfa {
		policy %s
	}
	respond "ok"
}
`, integrationPort, dataDir, servers, integrationPort, file)
}

// forwardedSpellings are ways a request may claim HTTPS, and whether a trusted proxy's word
// makes it so. None counts from a client that is not a trusted proxy.
var forwardedSpellings = []struct {
	name   string
	header []string // name, value pairs; a name given twice is two header lines
	secure bool
}{
	{"https", []string{"X-Forwarded-Proto", "https"}, true},
	{"upper case", []string{"X-Forwarded-Proto", "HTTPS"}, true},
	{"spaces", []string{"X-Forwarded-Proto", "  https "}, true},
	{"lower-case name", []string{"x-forwarded-proto", "https"}, true},
	{"appended by the proxy", []string{"X-Forwarded-Proto", "http, https"}, true},
	{"two lines, https last", []string{"X-Forwarded-Proto", "http", "X-Forwarded-Proto", "https"}, true},
	{"client's https, proxy's http", []string{"X-Forwarded-Proto", "https, http"}, false},
	{"two lines, http last", []string{"X-Forwarded-Proto", "https", "X-Forwarded-Proto", "http"}, false},
	{"http", []string{"X-Forwarded-Proto", "http"}, false},
	{"empty", []string{"X-Forwarded-Proto", ""}, false},
	{"wss", []string{"X-Forwarded-Proto", "wss"}, false},
	{"https with junk", []string{"X-Forwarded-Proto", "https;"}, false},
	{"scheme form", []string{"X-Forwarded-Proto", "https://"}, false},
	{"RFC 7239", []string{"Forwarded", "for=1.2.3.4;proto=https"}, false},
	{"X-Forwarded-Ssl", []string{"X-Forwarded-Ssl", "on"}, false},
	{"X-Forwarded-Scheme", []string{"X-Forwarded-Scheme", "https"}, false},
	{"Front-End-Https", []string{"Front-End-Https", "on"}, false},
	{"X-Url-Scheme", []string{"X-Url-Scheme", "https"}, false},
	{"underscore", []string{"X_Forwarded_Proto", "https"}, false},
}

// TestForwardedProto: behind a proxy Caddy trusts, its X-Forwarded-Proto decides HTTPS for the
// cookies (Secure, __Host-) and for req:Secure; from anyone else, no header does.
func TestForwardedProto(t *testing.T) {
	startCaddy(t, schemeConfig(t, true))
	for i, tc := range forwardedSpellings {
		t.Run("trusted proxy/"+tc.name, func(t *testing.T) {
			// Each from its own client address: the sign-in throttle counts per address.
			header := append([]string{"X-Forwarded-For", fmt.Sprintf("10.77.0.%d", i+1)}, tc.header...)
			checkScheme(t, header, tc.secure)
		})
	}

	startCaddy(t, schemeConfig(t, false))
	var all []string
	for _, tc := range forwardedSpellings {
		t.Run("untrusted client/"+tc.name, func(t *testing.T) {
			if code := rawStatus(t, "GET", "/secure", tc.header); code == http.StatusOK {
				t.Error("req:Secure policy: GET /secure allowed over plain HTTP")
			}
		})
		all = append(all, tc.header...)
	}
	if signInCookieSecure(t, all) {
		t.Error("every forwarding header at once, from a client: the session cookie is an HTTPS one over plain HTTP")
	}
}

func checkScheme(t *testing.T, header []string, want bool) {
	t.Helper()
	if got := signInCookieSecure(t, header); got != want {
		t.Errorf("session cookie Secure and __Host-: %v, want %v", got, want)
	}
	code := rawStatus(t, "GET", "/secure", header)
	if allowed := code == http.StatusOK; allowed != want {
		t.Errorf("req:Secure policy: GET /secure answered %d, want allowed=%v", code, want)
	}
}

// signInCookieSecure signs alice in with extra header lines and reports whether the session
// cookie came back as an HTTPS one; a cookie that is half of each fails the test.
func signInCookieSecure(t *testing.T, header []string) bool {
	t.Helper()
	req := rawRequest(t, "POST", "/.mfa/api/login", `{"username":"alice","password":"integration"}`, header)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	for _, c := range resp.Cookies() {
		if strings.HasSuffix(c.Name, "_remember") {
			continue
		}
		host := strings.HasPrefix(c.Name, "__Host-")
		if host != c.Secure {
			t.Fatalf("cookie %s: Secure=%v", c.Name, c.Secure)
		}
		return host
	}
	t.Fatal("sign-in set no session cookie")
	return false
}

func rawStatus(t *testing.T, method, path string, header []string) int {
	t.Helper()
	resp, err := http.DefaultTransport.RoundTrip(rawRequest(t, method, path, "", header))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// rawRequest keeps header names as given (Header.Add would canonicalise x-forwarded-proto,
// and X_Forwarded_Proto is a name of its own on the wire).
func rawRequest(t *testing.T, method, path, body string, header []string) *http.Request {
	req, err := http.NewRequest(method, fmt.Sprintf("http://localhost:%d%s", integrationPort, path), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Close = true
	for i := 0; i+1 < len(header); i += 2 {
		req.Header[header[i]] = append(req.Header[header[i]], header[i+1])
	}
	return req
}
