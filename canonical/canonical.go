// Package canonical puts a request into the one spelling that every upstream reads alike, or
// says why it cannot: the gate judges, and the admin API's simulator describes, exactly the
// request the upstream acts on. It must never guess how an upstream reads a request.
package canonical

import (
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// The gate decides on the request the upstream will act on. Before anything looks at a request,
// Request puts its method and path into one canonical spelling and writes that spelling
// back into the request, so the policy, the gateway's own site and every handler after the gate
// (file_server, reverse_proxy, php_fastcgi) see the same bytes. What has no spelling that every
// upstream reads alike is refused: such paths, odd Host headers, trailers, and a POST naming
// another method in its query. docs/security.md ("Request canonicalisation") says why.

// errNotCanonical is a request path that cannot be made canonical without guessing how the
// upstream reads it.
type errNotCanonical struct{ what string }

func (e *errNotCanonical) Error() string { return "the request path holds " + e.what }

var (
	errNoPath  = errors.New("the request path does not start with /")
	errBadHost = errors.New("the Host header is not a host and an optional numeric port")
	// Trailers arrive after the body, long after the gate set the identity headers, and once a
	// request declares any, Go takes every trailer the client sends and reverse_proxy passes
	// them all on: an upstream that merges trailers into headers would read a forged X-MFA-User.
	// Requests to web apps carry none (gRPC's trailers are the response's).
	errTrailers = errors.New("trailers, which arrive after the gate has decided")
	// Symfony and Laravel take a POST's method from a _method parameter of the query too.
	errMethodOverride = errors.New("a _method parameter, with which the site may take the request for another method")
)

// Request rewrites r's method and path to their canonical forms, or says why it cannot
// judge r. A request already canonical is left untouched, without allocating.
func Request(r *http.Request) error {
	if !isUpperToken(r.Method) {
		r.Method = strings.ToUpper(r.Method)
	}
	if !validHost(r.Host) {
		return errBadHost
	}
	if overridesMethod(r) {
		return errMethodOverride
	}
	if r.Trailer != nil {
		return errTrailers
	}
	escaped := r.URL.EscapedPath()
	switch {
	case escaped == "*" && r.Method == http.MethodOptions, escaped == "" && r.Method == http.MethodConnect:
		return nil // OPTIONS * and CONNECT host:port name no path; a CONNECT with a path is judged like any request
	case escaped == "":
		r.URL.Path, r.URL.RawPath = "/", "" // http://host with no path asks for /
		return nil
	case escaped[0] != '/':
		return errNoPath
	}
	canon, err := canonicalPath(escaped)
	if err != nil || canon == escaped {
		return err
	}
	decoded, err := url.PathUnescape(canon)
	if err != nil {
		return &errNotCanonical{what: "a malformed escape"}
	}
	r.URL.Path, r.URL.RawPath = decoded, ""
	if r.URL.EscapedPath() != canon {
		r.URL.RawPath = canon // escapes of reserved characters (%3F, %23 ...) stay as they came
	}
	r.RequestURI = canon
	if r.URL.RawQuery != "" || r.URL.ForceQuery {
		r.RequestURI += "?" + r.URL.RawQuery
	}
	return nil
}

// overridesMethod reports a POST whose query names a _method, in any spelling that decodes to
// it. The same field in a form body is the app's to refuse: the gate does not read bodies.
func overridesMethod(r *http.Request) bool {
	if r.Method != http.MethodPost || !containsFold(r.URL.RawQuery, "method") {
		return false
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return true // a query the gate cannot read may hold one
	}
	for name := range query {
		if strings.EqualFold(name, "_method") {
			return true
		}
	}
	return false
}

// containsFold is strings.Contains ignoring ASCII case, without making a lower-case copy.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// isUpperToken reports a method already in upper case (methods are ASCII tokens).
func isUpperToken(m string) bool {
	for i := 0; i < len(m); i++ {
		if 'a' <= m[i] && m[i] <= 'z' {
			return false
		}
	}
	return true
}

// canonicalPath is the canonical form of an escaped path that starts with "/": escapes of
// unreserved characters decoded (%2e is "."), other escapes in upper case, dot segments
// resolved as RFC 3986 section 5.2.4 does, and runs of slashes collapsed. It refuses what an
// upstream may read as a separator or a terminator: an escaped slash or backslash, a
// backslash, a semicolon (Tomcat's and Spring's path parameters: /admin;x/ is /admin/ there),
// escaped control characters, and segments ending in a dot or a space.
func canonicalPath(p string) (string, error) {
	if isCanonical(p) {
		return p, nil
	}
	var segs []string
	trailing := false
	for rest := p[1:]; ; {
		seg, more, found := strings.Cut(rest, "/")
		seg, err := decodeSegment(seg)
		if err != nil {
			return "", err
		}
		if seg != "." && seg != ".." && endsInDotOrSpace(seg) {
			return "", &errNotCanonical{what: "a segment ending in a dot or a space (Windows drops them)"}
		}
		trailing = !found && (seg == "" || seg == "." || seg == "..")
		switch seg {
		case "", ".":
		case "..":
			if len(segs) > 0 {
				segs = segs[:len(segs)-1]
			}
		default:
			segs = append(segs, seg)
		}
		if !found {
			break
		}
		rest = more
	}
	out := "/" + strings.Join(segs, "/")
	if trailing && len(segs) > 0 {
		out += "/"
	}
	return out, nil
}

// isCanonical is the fast path: no escape to change, no dot segment, no empty segment and
// nothing to refuse.
func isCanonical(p string) bool {
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '/':
			if i+1 < len(p) && (p[i+1] == '/' || p[i+1] == '.' && dotSegmentAt(p, i+1)) || endsInDotOrSpace(p[:i]) {
				return false
			}
		case '%':
			if i+2 >= len(p) || !isUpperHex(p[i+1]) || !isUpperHex(p[i+2]) || escapeChanges(unhex(p[i+1])<<4|unhex(p[i+2])) {
				return false
			}
			i += 2
		case ';', '\\':
			return false
		}
	}
	return !endsInDotOrSpace(p)
}

// endsInDotOrSpace reports an escaped segment (or path up to a segment's end) whose last
// character is a dot or a space: Windows file systems and IIS drop them, so /admin./x is
// /admin/x there.
func endsInDotOrSpace(p string) bool {
	return strings.HasSuffix(p, ".") || strings.HasSuffix(p, "%20")
}

// dotSegmentAt reports a "." or ".." segment starting at i.
func dotSegmentAt(p string, i int) bool {
	end := strings.IndexByte(p[i:], '/')
	if end < 0 {
		end = len(p) - i
	}
	seg := p[i : i+end]
	return seg == "." || seg == ".."
}

// decodeSegment decodes the escapes of unreserved characters in one segment and upper-cases
// the others, refusing what canonicalPath refuses.
func decodeSegment(seg string) (string, error) {
	if strings.ContainsAny(seg, ";\\") {
		return "", &errNotCanonical{what: "a semicolon or a backslash"}
	}
	if !strings.Contains(seg, "%") {
		return seg, nil
	}
	var b strings.Builder
	for i := 0; i < len(seg); i++ {
		if seg[i] != '%' {
			b.WriteByte(seg[i])
			continue
		}
		if i+2 >= len(seg) || !isHex(seg[i+1]) || !isHex(seg[i+2]) {
			return "", &errNotCanonical{what: "a malformed escape"}
		}
		c := unhex(seg[i+1])<<4 | unhex(seg[i+2])
		switch {
		case c == '/' || c == '\\':
			return "", &errNotCanonical{what: "an escaped slash or backslash"}
		case c == ';':
			return "", &errNotCanonical{what: "a semicolon or a backslash"}
		case c < 0x20 || c == 0x7f:
			return "", &errNotCanonical{what: "an escaped control character"}
		case isUnreserved(c):
			b.WriteByte(c)
		default:
			const hexdigits = "0123456789ABCDEF"
			b.WriteByte('%')
			b.WriteByte(hexdigits[c>>4])
			b.WriteByte(hexdigits[c&15])
		}
		i += 2
	}
	return b.String(), nil
}

// escapeChanges reports an escaped byte that canonicalPath decodes or refuses.
func escapeChanges(c byte) bool {
	return isUnreserved(c) || c == '/' || c == '\\' || c == ';' || c < 0x20 || c == 0x7f
}

// isUnreserved is RFC 3986's unreserved set: ALPHA DIGIT - . _ ~
func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

func isHex(c byte) bool      { return isUpperHex(c) || 'a' <= c && c <= 'f' }
func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// validHost accepts a Host header that every upstream splits alike: a name or address, then at
// most one ":" and a numeric port. nginx cuts "admin.example.com:80:80" at the first ":", the
// gate at the last, so such a header could be judged as one host and routed to another.
func validHost(host string) bool {
	rest := host
	if strings.HasPrefix(host, "[") {
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return false
		}
		// Only an IPv6 address goes in brackets: "[aud:api]" would otherwise be the host
		// "aud:api", the spelling of a configured token audience.
		if a, err := netip.ParseAddr(host[1:end]); err != nil || !a.Is6() {
			return false
		}
		rest = host[end+1:]
		if rest == "" {
			return true
		}
		if rest[0] != ':' {
			return false
		}
	} else {
		name := host
		if i := strings.IndexByte(host, ':'); i >= 0 {
			name, rest = host[:i], host[i:]
		} else {
			rest = ""
		}
		if !isHostName(name) {
			return false
		}
	}
	for i := 1; i < len(rest); i++ { // rest is ":port"
		if rest[i] < '0' || rest[i] > '9' {
			return false
		}
	}
	return true
}

// isHostName accepts the characters of host names and IPv4 addresses (and _, which container
// names use): a comma, a percent sign or a space could make an upstream that splits or decodes
// X-Forwarded-Host read another host than the one the policy saw.
func isHostName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// Host is a Host header as req:Host and host-qualified Resources see it: lower case,
// without port, brackets or trailing dots ("Admin.Example.COM.:443" is "admin.example.com").
func Host(host string) string {
	h := strings.TrimRight(hostOnly(host), ".")
	for i := 0; i < len(h); i++ {
		if 'A' <= h[i] && h[i] <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}

// hostOnly drops the port of a Host header ("example.com:8443", "[::1]:80"), without the error
// value net.SplitHostPort allocates when there is none.
func hostOnly(host string) string {
	i := strings.LastIndexByte(host, ':')
	if i < 0 || strings.IndexByte(host[i:], ']') >= 0 {
		return strings.Trim(host, "[]")
	}
	return strings.Trim(host[:i], "[]")
}
