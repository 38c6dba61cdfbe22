package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/canonical"
	"github.com/caddy-mfa/caddy-mfa/identity"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/roles"
	"github.com/caddy-mfa/caddy-mfa/session"
)

// Mount is where one `mfa` handler sits: what its gate and its site share.
type Mount struct {
	// Prefix is where the gateway serves its pages and API, e.g. "/.mfa".
	Prefix string
	// Identity, when set, names the user an earlier handler signed in ("" for nobody): the gate
	// then adds a second factor to that sign-in instead of offering its own.
	Identity func(*http.Request) string
	// ClientIP is the request's source address (Caddy's, with trusted proxies); RemoteAddr when nil.
	ClientIP func(*http.Request) netip.Addr
	// Audience names the site in the tokens it mints and accepts, as ConfiguredAudience makes
	// it; "": each request's host (Audience).
	Audience string
}

// Audience is the audience of a request to a mount whose configured audience is configured:
// that one, marked "aud:" so that no Host header can name it (":" is no host's, "aud" no IPv6
// address's), or else the request's host as req:Host sees it (lower case, no port, no final dot).
func Audience(r *http.Request, configured string) string {
	if configured != "" {
		return configured
	}
	return canonical.Host(r.Host)
}

// ConfiguredAudience is how a handler's audience name stands in tokens (Mount.Audience).
func ConfiguredAudience(name string) string {
	if name == "" {
		return ""
	}
	return "aud:" + name
}

// WithDefaults is m with RemoteAddr for a missing ClientIP.
func (m Mount) WithDefaults() Mount {
	if m.ClientIP == nil {
		m.ClientIP = RemoteAddr
	}
	return m
}

// ClientOf is where a browser's request came from, for the records of its sign-in.
func ClientOf(r *http.Request, clientIP func(*http.Request) netip.Addr) auth.Client {
	return auth.Client{Addr: clientIP(r), UserAgent: r.UserAgent()}
}

// RemoteAddr is the address the connection came from.
func RemoteAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// CredentialError is a credential that was presented but does not hold: it is refused rather
// than treated as no credential, so a client learns its token is bad.
type CredentialError struct {
	reason string
	lead   string // what the refusal says first; "": that the credential is invalid, expired or revoked
}

// errOtherAudience refuses a token minted for another site.
var errOtherAudience = &CredentialError{reason: "the token is for another site", lead: "The credential is not for this site"}

func (e *CredentialError) Error() string { return e.reason }

// Credentials reads the caller from a request's one credential, without touching storage:
// signatures, expiry and the in-memory revocation list decide.
type Credentials struct {
	ops      *auth.Service
	identity func(*http.Request) string
	clientIP func(*http.Request) netip.Addr
	audience string // the mount's configured audience; "": each request's host
	// routeMaxAge is the route's tightest mfa:Age limit (auth.Caller.RouteMaxAge).
	routeMaxAge time.Duration
}

// NewCredentials reads callers for a mount whose route's policy is p.
func NewCredentials(ops *auth.Service, m Mount, p *policy.Set) *Credentials {
	m = m.WithDefaults()
	return &Credentials{ops: ops, identity: m.Identity, clientIP: m.ClientIP, audience: m.Audience, routeMaxAge: auth.RouteMaxAge(p)}
}

// Identify is the caller of a site call, which the route's max_age binds.
func (cr *Credentials) Identify(r *http.Request) (*auth.Caller, error) {
	c := new(auth.Caller)
	if err := cr.IdentifyInto(r, c); err != nil {
		return nil, err
	}
	c.RouteMaxAge = cr.routeMaxAge
	return c, nil
}

// authorization is the request's first Authorization value, as Header.Get gives it, read from
// the map directly: the name is canonical already, and Get would check that on every request.
func authorization(h http.Header) string {
	if v := h["Authorization"]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// IdentifyInto is Identify writing into out, which the request path keeps on its stack, and
// without the route's max_age (the policy itself judges the factor's age there).
func (cr *Credentials) IdentifyInto(r *http.Request, out *auth.Caller) error {
	if authz := authorization(r.Header); authz != "" && cr.identity == nil {
		if ok, err := cr.fromAuthorization(r, authz, out); ok {
			return err
		}
	}
	claims, ok := cr.ops.Cookies.Read(r)
	if ok && (cr.ops.Revocations.Revoked(&claims) || claims.External != (cr.identity != nil)) {
		ok = false // revoked, or a cookie of the other kind of sign-in (local vs earlier handler's)
	}
	if cr.identity != nil {
		user := cr.identity(r)
		if user == "" {
			*out = auth.Caller{AuthType: policy.AuthAnonymous}
			return nil
		}
		if !ok || claims.User != user {
			// Signed in by the earlier handler, no factor passed here yet.
			claims = session.Claims{User: user}
			ok = false
		}
		*out = auth.Caller{AuthType: policy.AuthExternal, Claims: claims, FromCookie: ok}
		return nil
	}
	if ok {
		*out = auth.Caller{AuthType: policy.AuthSession, Claims: claims, FromCookie: true}
		return nil
	}
	*out = auth.Caller{AuthType: policy.AuthAnonymous}
	return nil
}

// fromAuthorization reads a Bearer session token or Basic access key; ok is false for any
// other scheme, which is no credential of the gateway's.
func (cr *Credentials) fromAuthorization(r *http.Request, authz string, out *auth.Caller) (ok bool, err error) {
	scheme, cred, _ := strings.Cut(authz, " ")
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		c, err := cr.ops.VerifyToken(strings.TrimSpace(cred))
		if err != nil || cr.ops.Revocations.Revoked(&c) {
			return true, &CredentialError{reason: "the session token is invalid, expired or revoked"}
		}
		if c.Audience != "" && c.Audience != Audience(r, cr.audience) {
			return true, errOtherAudience // a token of before audiences has none, and goes where it always went
		}
		var role *roles.Role
		if c.Role != "" {
			if role = cr.ops.Roles.Get(c.Role); role == nil {
				return true, &CredentialError{reason: "the token's role is no longer declared"}
			}
		}
		*out = auth.Caller{AuthType: policy.AuthToken, Claims: c, Role: role}
		return true, nil
	case strings.EqualFold(scheme, "Basic"):
		id, secret, basic := r.BasicAuth()
		if !basic || !identity.IsAccessKeyID(id) {
			return true, &CredentialError{reason: "Basic credentials must be an access key id and secret"}
		}
		k, found := cr.ops.KeyIndex.Lookup(id, secret)
		if !found {
			return true, &CredentialError{reason: "the access key id or secret is not valid"}
		}
		*out = auth.Caller{AuthType: policy.AuthAccessKey, Claims: session.Claims{User: k.User, Groups: k.Groups}}
		return true, nil
	}
	return false, nil
}

// Audience is the audience of r at this mount (Audience).
func (cr *Credentials) Audience(r *http.Request) string { return Audience(r, cr.audience) }

// External reports a mount behind an earlier handler's sign-in.
func (cr *Credentials) External() bool { return cr.identity != nil }

// RequestContext is the policy's view of a request before its caller is known: the req:* keys.
// The gate builds its own, on the request path; this one serves the site's calls that evaluate
// a policy (AssumeRole's trust policy).
func (cr *Credentials) RequestContext(r *http.Request) policy.Context {
	return policy.Context{AuthType: policy.AuthAnonymous, Method: r.Method, Host: canonical.Host(r.Host), Path: r.URL.Path,
		SourceIP: cr.clientIP(r), Secure: cr.ops.Cookies.Secure(r), Time: cr.ops.Now()}
}
