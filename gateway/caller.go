package gateway

import (
	"net/http"
	"strings"
	"time"

	"github.com/caddy-mfa/caddy-mfa/identity"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/session"
)

// Caller is who sent a request, as its one credential says.
type Caller struct {
	AuthType string         // policy.Auth*
	Claims   session.Claims // the user and MFA state; empty for anonymous callers
	// fromCookie is set when the claims came from this gateway's session cookie, which the
	// site may refresh, end, or replace after a factor.
	fromCookie bool
	// routeMaxAge is the tightest mfa:Age limit of the policy of the gate whose site serves
	// the call (zero: none). The site's own freshness rules (adding a device, recovery codes,
	// access keys, removing a device) never accept a factor older than it, so none of them buys
	// a factor fresher than the route itself would accept. Zero on the request path.
	routeMaxAge time.Duration
}

// within is how recent the caller's factor must be for a call that asks for one from the last
// base: base, or the route's tighter max_age.
func (c *Caller) within(base time.Duration) time.Duration {
	if c.routeMaxAge > 0 && c.routeMaxAge < base {
		return c.routeMaxAge
	}
	return base
}

// browser reports a person's sign-in at a browser (a password session, or an earlier
// handler's), as opposed to an API credential (an access key, a session token): factors are
// passed, and sign-in means changed, from the one only.
func (c *Caller) browser() bool {
	return c.AuthType == policy.AuthSession || c.AuthType == policy.AuthExternal
}

// User is the caller's name, "" when anonymous.
func (c *Caller) User() string { return c.Claims.User }

// credentialError is a credential that was presented but does not hold: it is refused rather
// than treated as no credential, so a client learns its token is bad.
type credentialError struct{ reason string }

func (e *credentialError) Error() string { return e.reason }

// identify works out the caller from the request's credential, without touching storage:
// signatures, expiry and the in-memory revocation list decide.
func (g *Gate) identify(r *http.Request) (*Caller, error) {
	c := new(Caller)
	if err := g.identifyInto(r, c); err != nil {
		return nil, err
	}
	c.routeMaxAge = g.routeMaxAge
	return c, nil
}

// identifyInto is identify writing into c, which the request path keeps on its stack.
func (g *Gate) identifyInto(r *http.Request, out *Caller) error {
	if auth := r.Header.Get("Authorization"); auth != "" && g.identity == nil {
		scheme, cred, _ := strings.Cut(auth, " ")
		switch {
		case strings.EqualFold(scheme, "Bearer"):
			c, err := g.svc.verifyToken(strings.TrimSpace(cred))
			if err != nil || g.svc.Revocations.Revoked(&c) {
				return &credentialError{reason: "the session token is invalid, expired or revoked"}
			}
			*out = Caller{AuthType: policy.AuthToken, Claims: c}
			return nil
		case strings.EqualFold(scheme, "Basic"):
			id, secret, ok := r.BasicAuth()
			if !ok || !identity.IsAccessKeyID(id) {
				return &credentialError{reason: "Basic credentials must be an access key id and secret"}
			}
			k, ok := g.svc.KeyIndex.Lookup(id, secret)
			if !ok {
				return &credentialError{reason: "the access key id or secret is not valid"}
			}
			*out = Caller{AuthType: policy.AuthAccessKey, Claims: session.Claims{User: k.User, Groups: k.Groups}}
			return nil
		}
	}
	claims, ok := g.svc.Cookies.Read(r)
	if ok && (g.svc.Revocations.Revoked(&claims) || claims.External != (g.identity != nil)) {
		ok = false // revoked, or a cookie of the other kind of sign-in (local vs earlier handler's)
	}
	if g.identity != nil {
		user := g.identity(r)
		if user == "" {
			*out = Caller{AuthType: policy.AuthAnonymous}
			return nil
		}
		if !ok || claims.User != user {
			// Signed in by the earlier handler, no factor passed here yet.
			claims = session.Claims{User: user}
			ok = false
		}
		*out = Caller{AuthType: policy.AuthExternal, Claims: claims, fromCookie: ok}
		return nil
	}
	if ok {
		*out = Caller{AuthType: policy.AuthSession, Claims: claims, fromCookie: true}
		return nil
	}
	*out = Caller{AuthType: policy.AuthAnonymous}
	return nil
}
