package gateway

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/caddy-mfa/caddy-mfa/policy"
)

// Options configure one gate: one `mfa` directive of a Caddyfile.
type Options struct {
	// Prefix is where the gateway serves its pages and API, e.g. "/.mfa".
	Prefix string
	// Identity, when set, names the user an earlier handler signed in ("" for nobody): the gate
	// then adds a second factor to that sign-in instead of offering its own.
	Identity func(*http.Request) string
	// Policy decides requests; Compile the shortcuts' document when there are no files.
	Policy *policy.Set
	// ClientIP is the request's source address (Caddy's, with trusted proxies); RemoteAddr when nil.
	ClientIP func(*http.Request) netip.Addr
	// Vars is the request's variables (Caddy's), where a gate leaves what a later gate on the
	// same request needs; nil: one gate a request.
	Vars func(*http.Request) map[string]any
}

// Gate decides requests and serves the gateway's site under its prefix.
type Gate struct {
	svc      *Services
	prefix   string
	identity func(*http.Request) string
	policy   *policy.Set
	clientIP func(*http.Request) netip.Addr
	vars     func(*http.Request) map[string]any
	site     http.Handler
	users    userValues
	// routeMaxAge is the policy's tightest mfa:Age limit (Caller.routeMaxAge); zero: none.
	routeMaxAge time.Duration
	// cookieName is the session cookie's name; hostCookieName the name it has on HTTPS.
	cookieName, hostCookieName string
}

// New makes a gate.
func New(svc *Services, o Options) (*Gate, error) {
	if !strings.HasPrefix(o.Prefix, "/") || strings.HasSuffix(o.Prefix, "/") {
		return nil, fmt.Errorf("prefix %q: must start with / and not end with one", o.Prefix)
	}
	if o.Policy == nil {
		return nil, fmt.Errorf("gate: no policy")
	}
	g := &Gate{svc: svc, prefix: o.Prefix, identity: o.Identity, policy: o.Policy, clientIP: o.ClientIP, users: newUserValues(),
		cookieName: svc.Cookies.CookieName(&http.Request{}), hostCookieName: svc.Cookies.CookieName(&http.Request{TLS: &tls.ConnectionState{}})}
	if g.clientIP == nil {
		g.clientIP = remoteAddr
	}
	if limit, ok := o.Policy.MaxAge(); ok {
		g.routeMaxAge = max(time.Duration(limit)*time.Second, time.Second) // an age of 0 s is never reached
	}
	if g.vars = o.Vars; g.vars == nil {
		g.vars = func(*http.Request) map[string]any { return nil }
	}
	g.site = g.newSite()
	return g, nil
}

func remoteAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

// Serve is the gate's whole part in a request: it puts the request into canonical form, serves
// the gateway's site under the prefix, and decides everything else as Check does. pass reports
// whether the request goes on to the next handler, as the caller user ("" when anonymous).
func (g *Gate) Serve(w http.ResponseWriter, r *http.Request) (user string, pass bool) {
	if err := canonicalize(r); err != nil {
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
	if err := canonicalize(r); err != nil {
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
	m := g.svc.metrics()
	var c Caller
	caller := &c
	if err := g.identifyInto(r, caller); err != nil {
		m.Decision("bad_credential")
		g.refuseCredential(w, err)
		return "", false
	}
	if caller.Claims.Enrolling {
		m.Decision("challenged")
		g.challengeEnrolment(w, r)
		return "", false
	}
	ctx := g.requestContext(r, caller)
	if res := g.policy.Evaluate(&ctx); res.Decision != policy.Allowed {
		ch := g.policy.Remedy(&ctx)
		if ch.Remedy == policy.RemedyForbidden {
			m.Decision("denied")
		} else {
			m.Decision("challenged")
		}
		g.challenge(w, r, caller, ch)
		return "", false
	}
	m.Decision("allowed")
	if caller.fromCookie && g.svc.Cookies.NeedsRefresh(&caller.Claims) {
		_ = g.svc.Cookies.Write(w, r, caller.Claims) // the idle deadline moves; failing to move it is harmless now
	}
	g.prepareUpstream(r.Header, caller, &ctx, stashFor(vars, earlier, r.Header, &ctx))
	return caller.User(), true
}

// requestContext is the policy's view of the request.
func (g *Gate) requestContext(r *http.Request, c *Caller) policy.Context {
	ctx := policy.Context{
		AuthType: c.AuthType,
		Method:   r.Method,
		Host:     canonicalHost(r.Host),
		Path:     r.URL.Path,
		SourceIP: g.clientIP(r),
		Secure:   r.TLS != nil,
		Time:     g.svc.Now(),
	}
	if c.AuthType != policy.AuthAnonymous {
		ctx.UserID, ctx.Groups = c.Claims.User, c.Claims.Groups
		ctx.MFAPresent, ctx.MFATime, ctx.MFAMethod = c.Claims.MFAPresent(), c.Claims.MFATime, c.Claims.Method
	}
	return ctx
}

// wantsHTML tells a browser navigation (answered with redirects to pages) from an API call
// (answered with JSON and WWW-Authenticate).
func wantsHTML(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.Contains(r.Header.Get("Accept"), "text/html")
}

func (g *Gate) redirectTo(w http.ResponseWriter, r *http.Request, page string, extra ...string) {
	target := g.prefix + "/" + page + "?return=" + url.QueryEscape(safeReturn(r.URL.RequestURI())) + strings.Join(extra, "")
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusFound)
}

func (g *Gate) challenge(w http.ResponseWriter, r *http.Request, c *Caller, ch policy.Challenge) {
	switch ch.Remedy {
	case policy.RemedyLogin:
		if wantsHTML(r) && g.identity == nil {
			g.redirectTo(w, r, "login")
			return
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="caddy-mfa"`)
		writeError(w, apiErr(CodeAuthRequired, "Sign in first."))
	case policy.RemedyMFA:
		if wantsHTML(r) {
			if len(ch.Methods) == 1 && ch.Methods[0] == policy.MethodWebAuthn {
				g.redirectTo(w, r, "verify", "&need="+policy.MethodWebAuthn) // the page offers only what will do
				return
			}
			g.redirectTo(w, r, "verify")
			return
		}
		desc := "A fresh second factor is required"
		if len(ch.Methods) < len(policy.Methods) {
			desc += " (" + strings.Join(ch.Methods, ", ") + ")"
		}
		challenge := `Bearer error="insufficient_user_authentication", error_description="` + desc + `"`
		if ch.MaxAge >= 0 {
			challenge += ", max_age=" + strconv.FormatInt(ch.MaxAge, 10)
		}
		w.Header().Set("WWW-Authenticate", challenge)
		writeError(w, apiErr(CodeMFARequired, desc+"."))
	default:
		if wantsHTML(r) {
			g.renderStatus(w, r, http.StatusForbidden, "Access denied", "Your account may not open this page.")
			return
		}
		writeError(w, apiErr(CodeAccessDenied, "Access denied."))
	}
}

func (g *Gate) challengeEnrolment(w http.ResponseWriter, r *http.Request) {
	if wantsHTML(r) {
		g.redirectTo(w, r, "devices")
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_user_authentication", error_description="Enrol an MFA device first"`)
	writeError(w, apiErr(CodeMFARequired, "Enrol an MFA device at "+g.prefix+"/devices first."))
}

// refuseRequest answers a request whose path or host has no canonical form: 400, as a page for a
// browser's navigation and as JSON for everything else.
func (g *Gate) refuseRequest(w http.ResponseWriter, r *http.Request, err error) {
	g.svc.metrics().Decision("bad_request")
	msg := "The request was refused: " + err.Error() + ", which the site behind this gateway may read as another request."
	if wantsHTML(r) {
		g.renderStatus(w, r, http.StatusBadRequest, "Bad request", msg)
		return
	}
	writeError(w, apiErr(CodeInvalidInput, msg))
}

func (g *Gate) refuseCredential(w http.ResponseWriter, err error) {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+err.Error()+`"`)
	w.Header().Add("WWW-Authenticate", `Basic realm="caddy-mfa"`)
	writeError(w, apiErr(CodeAuthRequired, "The credential is invalid, expired or revoked: "+err.Error()+"."))
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
