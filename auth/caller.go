package auth

import (
	"time"

	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/roles"
	"github.com/caddy-mfa/caddy-mfa/session"
)

// Caller is who sent a request, as its one credential says. The rooms above read it from the
// request; every operation takes it as a plain value.
type Caller struct {
	AuthType string         // policy.Auth*
	Claims   session.Claims // the user and MFA state; empty for anonymous callers
	// FromCookie is set when the claims came from this gateway's session cookie, which the
	// site may refresh, end, or replace after a factor.
	FromCookie bool
	// RouteMaxAge is the tightest mfa:Age limit of the policy of the gate whose site serves
	// the call (zero: none). The site's own freshness rules (adding a device, recovery codes,
	// access keys, removing a device) never accept a factor older than it, so none of them buys
	// a factor fresher than the route itself would accept. Zero on the request path.
	RouteMaxAge time.Duration
	// Role is the role of a role token (Claims.Role), as the config declares it now.
	Role *roles.Role
}

// Scope is the policies the caller's token carries beyond the route's: its session policy and
// the policy of its role (nil: none). A request is allowed only where they allow it too.
func (c *Caller) Scope() (session, role *policy.Set) {
	if c.Role != nil {
		role = c.Role.Policy
	}
	return c.Claims.Policy(), role
}

// Within is how recent the caller's factor must be for a call that asks for one from the last
// base: base, or the route's tighter max_age.
func (c *Caller) Within(base time.Duration) time.Duration {
	if c.RouteMaxAge > 0 && c.RouteMaxAge < base {
		return c.RouteMaxAge
	}
	return base
}

// Browser reports a person's sign-in at a browser (a password session, or an earlier
// handler's), as opposed to an API credential (an access key, a session token): factors are
// passed, and sign-in means changed, from the one only.
func (c *Caller) Browser() bool {
	return c.AuthType == policy.AuthSession || c.AuthType == policy.AuthExternal
}

// User is the caller's name, "" when anonymous.
func (c *Caller) User() string { return c.Claims.User }

// RouteMaxAge is the tightest mfa:Age limit of a route's policy (Caller.RouteMaxAge); zero: none.
func RouteMaxAge(p *policy.Set) time.Duration {
	if limit, ok := p.MaxAge(); ok {
		return max(time.Duration(limit)*time.Second, time.Second) // an age of 0 s is never reached
	}
	return 0
}
