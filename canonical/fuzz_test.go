package canonical

import (
	"bufio"
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"
)

// FuzzCanonicalPath checks the invariant of Request on arbitrary request targets: the
// path the policy decides on (r.URL.Path) is the path every upstream acts on, whether it reads
// the escaped path the proxy sends (decoding once) or cleans it as a file server does.
func FuzzCanonicalPath(f *testing.F) {
	for _, seed := range []string{"/", "/public/../secret", "/%2e%2e/a", "//admin/x", "/./admin", "/a%2fb", "/a;b",
		"/%c3%a9", "/a%3Fb/..", "/a/b/%2E%2e/", "/..%5c..", "/x/%252e%252e/", "/%7E/~", "/a/.../b", "/.well-known/x"} {
		f.Add("GET", seed)
	}
	f.Add("post", "/a")
	f.Fuzz(func(t *testing.T, method, target string) {
		if strings.ContainsAny(method+target, " \r\n") || method == "" {
			return
		}
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(method + " " + target + " HTTP/1.1\r\nHost: x\r\n\r\n")))
		if err != nil {
			return // Go's server refuses it before any handler sees it
		}
		if Request(r) != nil {
			return // refused with 400: nobody acts on it
		}
		p := r.URL.Path
		if r.Method == http.MethodConnect && p == "" || p == "*" {
			return
		}
		if r.Method != strings.ToUpper(r.Method) {
			t.Fatalf("method %q not canonical", r.Method)
		}
		escaped := r.URL.EscapedPath()
		if again, err := canonicalPath(escaped); err != nil || again != escaped {
			t.Fatalf("%q: canonical %q is not a fixed point (%q, %v)", target, escaped, again, err)
		}
		upstream, err := url.Parse(escaped) // what a proxied upstream decodes from the request line
		if err != nil || upstream.Path != p {
			t.Fatalf("%q: the policy saw %q, a proxied upstream reads %q (%v)", target, p, upstream.Path, err)
		}
		if cleaned := path.Clean(p); cleaned != strings.TrimSuffix(p, "/") && !(p == "/" && cleaned == "/") {
			t.Fatalf("%q: the policy saw %q, a file server cleans it to %q", target, p, cleaned)
		}
		if r.RequestURI != escaped && !strings.HasPrefix(r.RequestURI, escaped+"?") && r.RequestURI != target {
			t.Fatalf("%q: RequestURI %q disagrees with the path %q", target, r.RequestURI, escaped)
		}
	})
}
