package site

import (
	"embed"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/web"
)

//go:embed static
var staticFiles embed.FS

// Options configure the site of one `mfa` directive.
type Options struct {
	web.Mount
	// Policy is the route's; its tightest max_age bounds how fresh the site's own calls want a
	// factor (auth.Caller.RouteMaxAge).
	Policy *policy.Set
	// RememberDevice is how long a browser the user asks to remember after a factor signs in
	// with a factor of method remembered; zero: browsers are not remembered. Local sign-in only.
	RememberDevice time.Duration
}

// Site serves the gateway's own pages and JSON API under a prefix: thin handlers that decode,
// call one operation of auth, and encode.
type Site struct {
	ops         *auth.Service
	prefix      string
	external    bool // behind an earlier handler's sign-in
	credentials *web.Credentials
	pages       web.Pages
	clientIP    func(*http.Request) netip.Addr
	handler     http.Handler
	remember    time.Duration // remembered browsers; zero: off
}

// New makes the site of one mount.
func New(ops *auth.Service, o Options) (*Site, error) {
	if !strings.HasPrefix(o.Prefix, "/") || strings.HasSuffix(o.Prefix, "/") {
		return nil, fmt.Errorf("prefix %q: must start with / and not end with one", o.Prefix)
	}
	if o.Policy == nil {
		return nil, fmt.Errorf("site: no policy")
	}
	if err := checkRemember(o); err != nil {
		return nil, err
	}
	m := o.Mount.WithDefaults()
	s := &Site{ops: ops, prefix: o.Prefix, external: o.Identity != nil, credentials: web.NewCredentials(ops, m, o.Policy),
		pages: web.Pages{Issuer: ops.Issuer, Prefix: o.Prefix, Log: ops.Log}, clientIP: m.ClientIP,
		remember: o.RememberDevice}
	s.handler = s.routes()
	return s, nil
}

// checkRemember refuses a remember_device the site cannot keep: an earlier handler's sign-in
// has no password here for a remembered browser to stand beside.
func checkRemember(o Options) error {
	switch {
	case o.RememberDevice < 0 || o.RememberDevice > auth.MaxRememberFor:
		return fmt.Errorf("remember_device: %v is not between 0 and %v", o.RememberDevice, auth.MaxRememberFor)
	case o.RememberDevice > 0 && o.Identity != nil:
		return fmt.Errorf("remember_device: browsers are remembered for local sign-in only, not with identity")
	}
	return nil
}

// ServeHTTP serves one request under the prefix, already in canonical form.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// routes are the gateway's own pages and API under the prefix.
func (s *Site) routes() http.Handler {
	mux := http.NewServeMux()
	s.routeAPI(mux, s.prefix)
	s.routePages(mux, s.prefix)
	// Browsers say where a request comes from: a state change started by another site is
	// refused before any handler runs (login CSRF included). Session CSRF tokens come on top.
	cross := http.NewCrossOriginProtection()
	cross.SetDenyHandler(http.HandlerFunc(s.refuseCrossOrigin))
	return securityHeaders(s.boundBodies(cross.Handler(mux)))
}

// routeAPI routes the JSON API. The calls that check a password or a factor, or that may make
// an external user's first record, are throttled per address.
func (s *Site) routeAPI(mux *http.ServeMux, p string) {
	mux.HandleFunc("POST "+p+"/api/login", s.throttled(s.apiLogin))
	mux.HandleFunc("POST "+p+"/api/verify", s.throttled(s.apiVerify))
	mux.HandleFunc("GET "+p+"/api/devices", s.apiListDevices)
	mux.HandleFunc("POST "+p+"/api/devices/virtual", s.throttled(s.apiCreateVirtual)) // may make an external user's first record
	mux.HandleFunc("POST "+p+"/api/devices/{serial}/enable", s.throttled(s.apiEnable))
	mux.HandleFunc("POST "+p+"/api/devices/{serial}/resync", s.throttled(s.apiResync))
	mux.HandleFunc("POST "+p+"/api/devices/{serial}/deactivate", s.apiDeactivate)
	mux.HandleFunc("POST "+p+"/api/recovery-codes", s.apiRecoveryCodes)
	mux.HandleFunc("POST "+p+"/api/devices/sms", s.throttled(s.apiCreateSMS))
	mux.HandleFunc("POST "+p+"/api/sms/send", s.throttled(s.apiSMSSend))
	mux.HandleFunc("POST "+p+"/api/webauthn/register/begin", s.throttled(s.apiKeyRegisterBegin))
	mux.HandleFunc("POST "+p+"/api/webauthn/register/finish", s.apiKeyRegisterFinish)
	mux.HandleFunc("POST "+p+"/api/webauthn/login/begin", s.apiKeyLoginBegin)
	mux.HandleFunc("POST "+p+"/api/webauthn/login/finish", s.throttled(s.apiKeyLoginFinish))
	mux.HandleFunc("POST "+p+"/api/passkey/begin", s.throttled(s.apiPasskeyBegin))
	mux.HandleFunc("POST "+p+"/api/passkey/finish", s.throttled(s.apiPasskeyFinish))
	mux.HandleFunc("GET "+p+"/api/whoami", s.apiWhoami)
	mux.HandleFunc("POST "+p+"/api/device/authorize", s.throttled(s.apiDeviceAuthorize))
	mux.HandleFunc("POST "+p+"/api/device/token", s.apiDeviceToken) // paced by slow_down
	mux.HandleFunc("POST "+p+"/api/device/approve", s.throttled(s.apiDeviceApprove))
	mux.HandleFunc("POST "+p+"/api/session-token", s.throttled(s.apiSessionToken))
	mux.HandleFunc("POST "+p+"/api/assume-role", s.throttled(s.apiAssumeRole))
	mux.HandleFunc("GET "+p+"/api/access-keys", s.apiListAccessKeys)
	mux.HandleFunc("POST "+p+"/api/access-keys", s.apiCreateAccessKey)
	mux.HandleFunc("DELETE "+p+"/api/access-keys/{id}", s.apiDeleteAccessKey)
	mux.HandleFunc("POST "+p+"/api/logout", s.apiLogout)
	mux.HandleFunc("GET "+p+"/api/sessions", s.apiSignIns)
	mux.HandleFunc("DELETE "+p+"/api/sessions/{id}", s.apiEndSignIn)
	mux.HandleFunc("POST "+p+"/api/sessions/revoke-others", s.apiEndOtherSignIns)
	mux.HandleFunc("GET "+p+"/api/remembered", s.apiRemembered)
	mux.HandleFunc("DELETE "+p+"/api/remembered/{id}", s.apiForget)
	mux.HandleFunc(p+"/api/", func(w http.ResponseWriter, r *http.Request) {
		web.Refuse(w, auth.CodeNoSuchEntity, "No such API endpoint: "+r.Method+" "+r.URL.Path)
	})
}

// routePages routes the pages and their forms, throttled as their API calls are.
func (s *Site) routePages(mux *http.ServeMux, p string) {
	mux.HandleFunc("GET "+p+"/login", s.pageLogin)
	mux.HandleFunc("POST "+p+"/login", s.throttled(s.formLogin))
	mux.HandleFunc("GET "+p+"/verify", s.pageVerify)
	mux.HandleFunc("POST "+p+"/verify", s.throttled(s.formVerify))
	mux.HandleFunc("GET "+p+"/devices", s.pageDevices)
	mux.HandleFunc("GET "+p+"/device", s.throttled(s.pageDevice))
	mux.HandleFunc("POST "+p+"/device", s.throttled(s.formDevice))
	mux.HandleFunc("POST "+p+"/devices/virtual", s.throttled(s.formCreateVirtual))
	mux.HandleFunc("POST "+p+"/devices/{serial}/enable", s.throttled(s.formEnable))
	mux.HandleFunc("POST "+p+"/devices/{serial}/resync", s.throttled(s.formResync))
	mux.HandleFunc("POST "+p+"/devices/{serial}/deactivate", s.formDeactivate)
	mux.HandleFunc("POST "+p+"/devices/hardware", s.throttled(s.formHardware))
	mux.HandleFunc("POST "+p+"/recovery-codes", s.formRecoveryCodes)
	mux.HandleFunc("POST "+p+"/recovery-codes/first", s.formFirstCodes)
	mux.HandleFunc("POST "+p+"/devices/sms", s.throttled(s.formCreateSMS))
	mux.HandleFunc("POST "+p+"/sms/send", s.throttled(s.formSMSSend))
	mux.HandleFunc("POST "+p+"/access-keys", s.formCreateAccessKey)
	mux.HandleFunc("POST "+p+"/access-keys/{id}/delete", s.formDeleteAccessKey)
	mux.HandleFunc("POST "+p+"/sessions/{id}/end", s.formEndSignIn)
	mux.HandleFunc("POST "+p+"/sessions/revoke-others", s.formEndOtherSignIns)
	mux.HandleFunc("POST "+p+"/remembered/{id}/forget", s.formForget)
	mux.HandleFunc("GET "+p+"/logout", s.pageLogout)
	mux.HandleFunc("POST "+p+"/logout", s.formLogout)
	mux.HandleFunc("GET "+p+"/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, p+"/devices", http.StatusFound)
	})
	mux.Handle("GET "+p+"/static/", http.StripPrefix(p, staticHandler()))
	mux.HandleFunc(p+"/", func(w http.ResponseWriter, r *http.Request) {
		s.pages.RenderStatus(w, r, http.StatusNotFound, "Not found", "There is no such page.")
	})
}

func staticHandler() http.Handler {
	files := http.FileServerFS(staticFiles)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

// securityHeaders: the pages show secrets (QR codes, recovery codes), so nothing is cached or
// framed, and only the gateway's own script and styles run.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// refuseCrossOrigin answers a state change another site started (login CSRF included).
func (s *Site) refuseCrossOrigin(w http.ResponseWriter, r *http.Request) {
	const msg = "This request came from another site; the gateway takes changes only from its own pages."
	if s.isAPI(r) {
		web.Refuse(w, auth.CodeAccessDenied, msg)
		return
	}
	s.pages.RenderStatus(w, r, http.StatusForbidden, "Request refused", msg)
}

// isAPI tells a call of the JSON API from a page's.
func (s *Site) isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, s.prefix+"/api/") }

// fail answers an API call with err: the one adapter from an operation's error to SPEC's body.
func (s *Site) fail(w http.ResponseWriter, err error) { web.Fail(w, s.ops.Log, err) }

// explain is err as the caller sees it, for a page.
func (s *Site) explain(err error) *auth.Error { return web.Explain(s.ops.Log, err) }

// Interface guards
var _ http.Handler = (*Site)(nil)
