package gate

import (
	"hash/maphash"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/session"
)

// The identity headers, in canonical form so setting them needs no canonicalisation.
const (
	headerUser     = "X-Mfa-User"
	headerGroups   = "X-Mfa-Groups"
	headerAuthType = "X-Mfa-Auth-Type"
	headerPresent  = "X-Mfa-Present"
	headerAge      = "X-Mfa-Age"
	headerMethod   = "X-Mfa-Method"
	headerRole     = "X-Mfa-Role"
)

// userGroups caches each user's X-MFA-Groups value, so a request from a known caller joins no
// groups. It is a fixed table of slots, one chosen by a hash of the user name, read and written
// without a lock (every request of every user goes through it): a user whose slot another user
// took joins hers anew. Bounded by its size.
type userGroups struct {
	seed  maphash.Seed
	slots []atomic.Pointer[joinedGroups]
}

type joinedGroups struct {
	user   string
	groups []string // the groups joined was made from
	joined string
}

const userGroupsSize = 4096 // a power of two: a slot is the hash's low bits

func newUserGroups() userGroups {
	return userGroups{seed: maphash.MakeSeed(), slots: make([]atomic.Pointer[joinedGroups], userGroupsSize)}
}

// get is the X-MFA-Groups value of user in groups.
func (u *userGroups) get(user string, groups []string) string {
	slot := &u.slots[maphash.String(u.seed, user)&(userGroupsSize-1)]
	if j := slot.Load(); j != nil && j.user == user && slices.Equal(j.groups, groups) {
		return j.joined
	}
	j := &joinedGroups{user: user, groups: slices.Clone(groups), joined: strings.Join(groups, ",")}
	slot.Store(j)
	return j.joined
}

// prepareUpstream makes the request ready for the upstream: the gateway's own credential
// removed (dropCredentials), no header that would make a proxy drop what the gate sets
// (dropConnectionTokens), and the identity headers set (setIdentityHeaders).
func (g *Gate) prepareUpstream(h http.Header, c *auth.Caller, ctx *policy.Context, kept *credentialStash) {
	g.dropCredentials(h, c, kept)
	dropConnectionTokens(h)
	g.setIdentityHeaders(h, c, ctx, kept)
}

// stashKey names, in the request's variables, the credentials an earlier gate took out.
const stashKey = "mfa.credentials"

// credentialStash keeps what a gate took out of the request, so that a later gate on the same
// request (several mfa handlers all apply) still finds the caller's credential. It also holds
// the identity headers' values, so one allocation serves both.
type credentialStash struct {
	identityValues
	cookie, authorization []string
}

// identityValues is one request's memory for the X-MFA-* header values: each header gets a slot
// of its own, never a slice another request shares, because a later handler may write into a
// header's values in place (Caddy's request_header with a replacement does) and that must not
// change what another request sends. A slot is handed out once; a later gate on the same request
// takes a new identityValues rather than write under values already handed out.
type identityValues struct {
	ageDigits [20]byte
	slots     [7]string // one a header: auth type, user, groups, role, present, age, method
	used      int
}

// value is v in a slot of its own.
func (v *identityValues) value(s string) []string {
	i := v.used
	v.used++
	v.slots[i] = s
	return v.slots[i : i+1 : i+1]
}

// age is the X-MFA-Age value, its digits in this request's own memory.
func (v *identityValues) age(seconds int64) []string {
	digits := strconv.AppendInt(v.ageDigits[:0], seconds, 10)
	return v.value(unsafe.String(&digits[0], len(digits)))
}

// valuesFor is where this gate puts the identity headers' values: the stash's when this gate made
// it, else memory of its own.
func valuesFor(s *credentialStash) *identityValues {
	if s == nil || s.used > 0 {
		return new(identityValues)
	}
	return &s.identityValues
}

// stashFor is the stash of this request (vars are its variables): an earlier gate's, or a new
// one where this gate keeps the credentials it takes out. nil when there is nothing to keep.
func stashFor(vars map[string]any, earlier *credentialStash, h http.Header, ctx *policy.Context) *credentialStash {
	if earlier != nil {
		return earlier
	}
	if len(h["Cookie"]) == 0 && len(h["Authorization"]) == 0 && !ctx.MFAPresent {
		return nil
	}
	s := new(credentialStash)
	if vars != nil {
		vars[stashKey] = s
	}
	return s
}

// restore gives a later gate the credentials an earlier gate on the same request took out;
// a nil stash (no earlier gate) restores nothing.
func (s *credentialStash) restore(h http.Header) {
	if s == nil {
		return
	}
	if s.cookie != nil {
		h["Cookie"] = s.cookie
	}
	if s.authorization != nil {
		h["Authorization"] = s.authorization
	}
}

// isIdentityHeader reports a name that is one of the gate's X-MFA-* headers, or that an
// upstream reads as one: CGI, FastCGI, WSGI and Rack turn both X-MFA-User and X_MFA_User into
// HTTP_X_MFA_USER, so a client's X_MFA_User could stand in for the gate's header there.
func isIdentityHeader(name string) bool {
	return len(name) >= 6 && name[0]|0x20 == 'x' && (name[1] == '-' || name[1] == '_') &&
		strings.EqualFold(name[2:5], "mfa") && (name[5] == '-' || name[5] == '_')
}

// overrideHeaders make some upstreams act on another path or method than the request line's:
// Symfony and IIS route by X-Original-URL and X-Rewrite-URL, Express, Laravel and Rails (Rack)
// take the method from X-HTTP-Method-Override. The gate judged the request line, so the upstream
// must not see them.
var overrideHeaders = []string{"X-Original-Url", "X-Rewrite-Url", "X-Override-Url", "X-Http-Method-Override", "X-Http-Method", "X-Method-Override"}

// isOverrideHeader reports one of overrideHeaders in any case, with _ for - (as CGI reads it).
func isOverrideHeader(name string) bool {
	if len(name) < 13 || name[0]|0x20 != 'x' {
		return false
	}
	for _, o := range overrideHeaders {
		if sameHeaderName(name, o) {
			return true
		}
	}
	return false
}

// sameHeaderName compares header names as CGI-style upstreams do: without case, _ equal to -.
func sameHeaderName(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := lowerASCII(a[i]), lowerASCII(b[i])
		if x == '_' {
			x = '-'
		}
		if y == '_' {
			y = '-'
		}
		if x != y {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// setIdentityHeaders tells the upstream who is calling. Whatever the client sent under these
// names (in any spelling) is removed first, so nobody can claim an identity by sending the header,
// and so are the headers that would make the upstream act on another path or method.
func (g *Gate) setIdentityHeaders(h http.Header, c *auth.Caller, ctx *policy.Context, s *credentialStash) {
	for name := range h {
		if isIdentityHeader(name) || isOverrideHeader(name) {
			delete(h, name)
		}
	}
	v := valuesFor(s)
	h[headerAuthType] = v.value(c.AuthType)
	if c.AuthType == policy.AuthAnonymous {
		return
	}
	h[headerUser] = v.value(c.Claims.User)
	if len(c.Claims.Groups) > 0 {
		h[headerGroups] = v.value(g.groups.get(c.Claims.User, c.Claims.Groups))
	}
	if c.Claims.Role != "" {
		h[headerRole] = v.value(c.Claims.Role)
	}
	if c.AuthType == policy.AuthAccessKey {
		return // mfa:Present is absent for long-term keys, and so is the header
	}
	if !ctx.MFAPresent {
		h[headerPresent] = v.value("false")
		return
	}
	h[headerPresent] = v.value("true")
	h[headerAge] = v.age(int64(ctx.Time.Sub(ctx.MFATime).Seconds()))
	if slices.Contains(policy.MethodNames, ctx.MFAMethod) {
		h[headerMethod] = v.value(ctx.MFAMethod)
	}
}

// dropConnectionTokens removes the identity headers' names from Connection. A proxy deletes
// every header that Connection names (RFC 9110 section 7.6.1), so a client's
// "Connection: X-MFA-User" would have reverse_proxy strip what the gate set, and the upstream
// see no identity, or an older one (the class of Traefik's CVE-2024-45410).
func dropConnectionTokens(h http.Header) {
	values := h["Connection"]
	for i, v := range values {
		if !namesIdentityHeader(v) {
			continue
		}
		var kept []string
		for _, token := range strings.Split(v, ",") {
			if t := textproto.TrimString(token); t != "" && !isIdentityHeader(t) {
				kept = append(kept, t)
			}
		}
		values[i] = strings.Join(kept, ", ")
	}
}

func namesIdentityHeader(connection string) bool {
	for rest := connection; rest != ""; {
		var token string
		token, rest, _ = strings.Cut(rest, ",")
		if isIdentityHeader(textproto.TrimString(token)) {
			return true
		}
	}
	return false
}

// dropCredentials removes what the gateway itself reads as a credential from the request the
// upstream gets: its session cookie (in both spellings, whatever the scheme, for a TLS proxy in
// front may have changed it) and, when the caller signed with it, the Authorization header of
// an access key or session token. What it takes out goes into the stash, for a later gate. Anything behind the gate could otherwise replay them; the
// identity headers say all the upstream needs. Every other cookie keeps its bytes.
func (g *Gate) dropCredentials(h http.Header, c *auth.Caller, s *credentialStash) {
	if auth := h["Authorization"]; auth != nil && (c.AuthType == policy.AuthToken || c.AuthType == policy.AuthAccessKey) {
		s.authorization = auth
		delete(h, "Authorization")
	}
	lines := h["Cookie"]
	if len(lines) == 0 {
		return
	}
	s.cookie = lines
	kept := lines[:0:0]
	changed := false
	for _, line := range lines {
		if !strings.Contains(line, g.cookieName) {
			kept = append(kept, line)
			continue
		}
		changed = true
		if rest := g.withoutOwnCookies(line); rest != "" {
			kept = append(kept, rest)
		}
	}
	switch {
	case !changed:
	case len(kept) == 0:
		delete(h, "Cookie")
	default:
		h["Cookie"] = kept
	}
}

// isOwnCookie reports the gateway's session cookie, in both spellings, and its remembered-
// browser cookie, which is a credential too: with the password it passes a factor.
func (g *Gate) isOwnCookie(name string) bool {
	name = strings.TrimSuffix(name, session.RememberSuffix)
	return name == g.cookieName || name == g.hostCookieName
}

// withoutOwnCookies is one Cookie line without the gateway's cookies; a line that held only
// those costs no allocation.
func (g *Gate) withoutOwnCookies(line string) string {
	var b strings.Builder
	for rest := line; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, ";")
		pair = textproto.TrimString(pair)
		name, _, _ := strings.Cut(pair, "=")
		if pair == "" || g.isOwnCookie(name) {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(pair)
	}
	return b.String()
}
