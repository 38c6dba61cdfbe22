package gate

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/canonical"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/web"
)

// Options configure one gate: one `mfa` directive of a Caddyfile.
type Options struct {
	web.Mount
	// Policy decides requests; Compile the shortcuts' document when there are no files.
	Policy *policy.Set
	// Vars is the request's variables (Caddy's), where a gate leaves what a later gate on the
	// same request needs; nil: one gate a request.
	Vars func(*http.Request) map[string]any
	// Site serves the gateway's own pages and API under the prefix.
	Site http.Handler
	// Observe, when set, is told each decision the policy makes here, with the context it
	// judged (for the access log). It runs on the request's path; nil: nobody listens.
	Observe func(r *http.Request, ctx policy.Context, res policy.Result)
}

// Gate decides requests, and hands those under its prefix to its site.
type Gate struct {
	ops         *auth.Service
	prefix      string
	external    bool // behind an earlier handler's sign-in
	credentials *web.Credentials
	pages       web.Pages
	policy      *policy.Set
	clientIP    func(*http.Request) netip.Addr
	vars        func(*http.Request) map[string]any
	site        http.Handler
	observe     func(*http.Request, policy.Context, policy.Result)
	groups      userGroups
	refreshes   refreshes
	// cookieName is the session cookie's name; hostCookieName the name it has on HTTPS.
	cookieName, hostCookieName string
}

// New makes a gate.
func New(ops *auth.Service, o Options) (*Gate, error) {
	if !strings.HasPrefix(o.Prefix, "/") || strings.HasSuffix(o.Prefix, "/") {
		return nil, fmt.Errorf("prefix %q: must start with / and not end with one", o.Prefix)
	}
	if o.Policy == nil {
		return nil, fmt.Errorf("gate: no policy")
	}
	if o.Site == nil {
		return nil, fmt.Errorf("gate: no site")
	}
	m := o.Mount.WithDefaults()
	g := &Gate{ops: ops, prefix: o.Prefix, external: o.Identity != nil, credentials: web.NewCredentials(ops, m, o.Policy),
		pages: web.Pages{Issuer: ops.Issuer, Prefix: o.Prefix, Log: ops.Log}, policy: o.Policy, clientIP: m.ClientIP,
		vars: o.Vars, site: o.Site, observe: o.Observe, groups: newUserGroups(), refreshes: newRefreshes()}
	g.cookieName, g.hostCookieName = ops.Cookies.CookieNames()
	if g.vars == nil {
		g.vars = func(*http.Request) map[string]any { return nil }
	}
	return g, nil
}

// Serve is the gate's whole part in a request: it puts the request into canonical form, serves
// the gateway's site under the prefix, and decides everything else as Check does. pass reports
// whether the request goes on to the next handler, as the caller user ("" when anonymous).
func (g *Gate) Serve(w http.ResponseWriter, r *http.Request) (user string, pass bool) {
	if err := canonical.Request(r); err != nil {
		g.refuseRequest(w, r, err)
		return "", false
	}
	if g.ownsPath(r.URL.Path) {
		g.site.ServeHTTP(w, r)
		return "", false
	}
	return g.decide(w, r)
}

// ownsPath reports whether a canonical path is the gateway's own site.
func (g *Gate) ownsPath(p string) bool {
	return strings.HasPrefix(p, g.prefix) && (len(p) == len(g.prefix) || p[len(g.prefix)] == '/')
}

// Check decides whether r may go on. When it may, the request is made ready for the upstream
// (prepareUpstream) and the caller's user name is returned ("" for an anonymous caller the
// policy let through); when not, the answer (a challenge or a refusal) has been written and ok
// is false. Check canonicalizes r itself, so no caller can judge one path and serve another.
func (g *Gate) Check(w http.ResponseWriter, r *http.Request) (user string, ok bool) {
	if err := canonical.Request(r); err != nil {
		g.refuseRequest(w, r, err)
		return "", false
	}
	return g.decide(w, r)
}

// decide is Check on a request already in canonical form.
func (g *Gate) decide(w http.ResponseWriter, r *http.Request) (user string, ok bool) {
	vars := g.vars(r)
	earlier, _ := vars[stashKey].(*credentialStash)
	earlier.restore(r.Header) // an earlier gate on this request took the caller's credential out
	m := g.ops.Metrics()
	var c auth.Caller
	caller := &c
	if err := g.credentials.IdentifyInto(r, caller); err != nil {
		m.Decision("bad_credential")
		web.RefuseCredential(w, r, err, web.LoginURL(r, g.prefix, g.external))
		return "", false
	}
	if caller.Claims.Enrolling {
		m.Decision("challenged")
		g.challengeEnrolment(w, r)
		return "", false
	}
	ctx := g.requestContext(r, caller)
	if allowed, ch := g.evaluate(r, &ctx, caller); !allowed {
		if ch.Remedy == policy.RemedyForbidden {
			m.Decision("denied")
		} else {
			m.Decision("challenged")
		}
		g.challenge(w, r, ch)
		return "", false
	}
	m.Decision("allowed")
	if caller.FromCookie && g.ops.Cookies.NeedsRefresh(&caller.Claims) && g.refreshes.claim(&caller.Claims, g.ops.Now()) {
		// The idle deadline moves, about once a minute of use; failing to move it is harmless now.
		if g.ops.Cookies.Write(w, r, caller.Claims) == nil {
			g.ops.SeenSignIn(r.Context(), caller.Claims, web.ClientOf(r, g.clientIP))
		}
	}
	g.prepareUpstream(r.Header, caller, &ctx, stashFor(vars, earlier, r.Header, &ctx))
	return caller.User(), true
}

// evaluate decides the request by the route's policy and, for a token that carries policies of
// its own, by those too; when it is denied, ch is the remedy. The decision is counted (a route
// statement's) and handed to the observer.
func (g *Gate) evaluate(r *http.Request, ctx *policy.Context, c *auth.Caller) (allowed bool, ch policy.Challenge) {
	var v policy.Verdict
	if session, role := c.Scope(); session == nil && role == nil {
		v.Result = g.policy.Evaluate(ctx)
	} else {
		v = policy.EvaluateScoped(g.policy, ctx, session, role)
	}
	if v.By == policy.LayerRoute {
		g.policy.Record(v.Result)
	}
	if g.observe != nil {
		g.observe(r, *ctx, v.Result)
	}
	if v.Decision == policy.Allowed {
		return true, ch
	}
	return false, policy.RemedyScoped(g.policy, ctx, v)
}

// requestContext is the policy's view of the request.
func (g *Gate) requestContext(r *http.Request, c *auth.Caller) policy.Context {
	ctx := policy.Context{
		AuthType: c.AuthType,
		Method:   r.Method,
		Host:     canonical.Host(r.Host),
		Path:     r.URL.Path,
		SourceIP: g.clientIP(r),
		Secure:   g.ops.Cookies.Secure(r),
		Time:     g.ops.Now(),
	}
	if c.AuthType != policy.AuthAnonymous {
		ctx.UserID, ctx.Groups = c.Claims.User, c.Claims.Groups
		ctx.MFAPresent, ctx.MFATime, ctx.MFAMethod = c.Claims.MFAPresent(), c.Claims.MFATime, c.Claims.Method
		ctx.MFAUserVerified, ctx.MFABackupEligible, ctx.MFAAaguid = c.Claims.UserVerified, c.Claims.BackupEligible, c.Claims.AAGUID
		ctx.RoleName, ctx.RoleSessionName = c.Claims.Role, c.Claims.RoleSessionName
	}
	return ctx
}
