package caddymodule

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/gate"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/site"
	"github.com/caddy-mfa/caddy-mfa/web"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler gates the requests it sees with the `mfa` app's users and devices, and serves the
// gateway's own pages and API under Prefix. With no policy and no shortcut, it requires MFA.
type Handler struct {
	// Prefix is where the gateway serves its pages and API. Default: "/.mfa".
	Prefix string `json:"prefix,omitempty"`

	// Identity is a placeholder naming a user an earlier handler signed in (for example
	// "{http.auth.user.id}" after basic_auth); the gate then adds a second factor to that
	// sign-in instead of offering its own. Default: none (local sign-in).
	Identity string `json:"identity,omitempty"`

	// Policies are policy document files (JSON), combined. Default: none.
	Policies []string `json:"policies,omitempty"`

	// Require is "mfa": deny unless mfa:Present is true. Implied when no policy file is given.
	Require string `json:"require,omitempty"`

	// MaxAge denies requests whose factor was passed longer ago than this. Default: no limit.
	MaxAge caddy.Duration `json:"max_age,omitempty"`

	// Methods denies requests whose factor was not of one of these kinds (virtual, hardware,
	// webauthn, sms, recovery, or remembered: a browser remembered after a factor, see
	// RememberDevice). Default: any.
	Methods []string `json:"methods,omitempty"`

	// Groups denies requests of users in none of these groups. Default: any.
	Groups []string `json:"groups,omitempty"`

	// AllowAccessKeys lets requests signed with a long-term access key alone through the
	// shortcuts above. Default: false.
	AllowAccessKeys bool `json:"allow_access_keys,omitempty"`

	// Audience names the site in the session tokens it mints, and its gates accept only tokens
	// of this audience: several sites that share one name accept each other's tokens. Lower-case
	// letters, digits and . _ : - (at most 253). Default: each request's host, lower case and
	// without its port.
	Audience string `json:"audience,omitempty"`

	// RememberDevice lets a user who passes a factor on the verify page have the browser
	// remembered this long (at most 90 days): a later password sign-in from it carries a
	// factor of method "remembered" without a code. Policies and methods may refuse that
	// method. Local sign-in only (not with Identity). Default: off.
	RememberDevice caddy.Duration `json:"remember_device,omitempty"`

	gate   *gate.Gate
	policy *policy.Set
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.mfa",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision sets the default prefix, compiles the handler's policy, and builds its site and
// gate on the app's operations layer. Caddy calls Validate after it.
func (h *Handler) Provision(ctx caddy.Context) error {
	if h.Prefix == "" {
		h.Prefix = "/.mfa"
	}
	set, err := h.compilePolicy()
	if err != nil {
		return err
	}
	h.policy = set
	appModule, err := ctx.App("mfa")
	if err != nil {
		return fmt.Errorf("mfa handler: loading the mfa app: %w", err)
	}
	app := appModule.(*App)
	app.policies.add(set)
	ops := app.Operations()
	mount := web.Mount{Prefix: h.Prefix, ClientIP: clientIP, Identity: identityOf(h.Identity), Audience: web.ConfiguredAudience(h.Audience)}
	s, err := site.New(ops, site.Options{Mount: mount, Policy: set, RememberDevice: time.Duration(h.RememberDevice)})
	if err != nil {
		return fmt.Errorf("mfa: %w", err)
	}
	h.gate, err = gate.New(ops, gate.Options{Mount: mount, Policy: set, Vars: requestVars, Site: s, Observe: logDecision})
	if err != nil {
		return fmt.Errorf("mfa: %w", err)
	}
	return nil
}

// identityOf reads the user an earlier handler signed in from a placeholder; nil for none.
func identityOf(placeholder string) func(*http.Request) string {
	if placeholder == "" {
		return nil
	}
	return func(r *http.Request) string {
		repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
		if repl == nil {
			return ""
		}
		return repl.ReplaceAll(placeholder, "")
	}
}

// compilePolicy reads the policy files and compiles them with the shortcuts.
func (h *Handler) compilePolicy() (*policy.Set, error) {
	var docs []*policy.Document
	for _, file := range h.Policies {
		raw, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("mfa policy: %w", err)
		}
		d, err := policy.Parse(file, raw)
		if err != nil {
			return nil, err
		}
		docs = append(docs, d)
	}
	sc := policy.Shortcuts{
		RequireMFA:      h.Require == "mfa" || len(h.Policies) == 0,
		MaxAge:          time.Duration(h.MaxAge),
		Methods:         h.Methods,
		Groups:          h.Groups,
		AllowAccessKeys: h.AllowAccessKeys,
	}
	if sd := sc.Document(len(h.Policies) == 0); len(sd.Statement) > 0 {
		docs = append(docs, sd)
	}
	return policy.Compile(docs...)
}

// Validate checks the handler's configuration.
func (h *Handler) Validate() error {
	if h.Prefix != "" && (h.Prefix[0] != '/' || h.Prefix[len(h.Prefix)-1] == '/' || len(h.Prefix) < 2) {
		return fmt.Errorf("mfa prefix: %q must start with / and not end with one", h.Prefix)
	}
	if h.Require != "" && h.Require != "mfa" {
		return fmt.Errorf("mfa require: want mfa, got %q", h.Require)
	}
	if h.MaxAge < 0 {
		return fmt.Errorf("mfa max_age: must be positive")
	}
	if h.Audience != "" && !validAudience(h.Audience) {
		return fmt.Errorf("mfa audience: %q: want 1 to 253 lower-case letters, digits and . _ : -", h.Audience)
	}
	if err := h.validateRemember(); err != nil {
		return err
	}
	for _, m := range h.Methods {
		if !isMethod(m) {
			return fmt.Errorf("mfa methods: unknown method %q (want virtual, hardware, webauthn, sms, recovery or remembered)", m)
		}
	}
	return nil
}

// validateRemember checks remember_device: a positive duration up to auth.MaxRememberFor, and
// only where the gateway checks the password itself.
func (h *Handler) validateRemember() error {
	switch d := time.Duration(h.RememberDevice); {
	case d < 0 || d > auth.MaxRememberFor:
		return fmt.Errorf("mfa remember_device: %v is not between 0 and %v (90 days)", d, auth.MaxRememberFor)
	case d > 0 && h.Identity != "":
		return fmt.Errorf("mfa remember_device: browsers are remembered only for local sign-in, not with identity")
	}
	return nil
}

func validAudience(a string) bool {
	return len(a) <= 253 && strings.Trim(a, "abcdefghijklmnopqrstuvwxyz0123456789._:-") == ""
}

func isMethod(m string) bool {
	for _, known := range policy.MethodNames {
		if m == known {
			return true
		}
	}
	return false
}

// requestVars is Caddy's per-request variable map, which the gates of one request share.
func requestVars(r *http.Request) map[string]any {
	vars, _ := r.Context().Value(caddyhttp.VarsCtxKey).(map[string]any)
	return vars
}

// ServeHTTP serves the gateway's site under the prefix and gates everything else.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	user, ok := h.gate.Serve(w, r)
	if !ok {
		return nil
	}
	if user != "" {
		if repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); repl != nil {
			repl.Set("http.auth.user.id", user) // Caddy's access log shows the user
		}
	}
	return next.ServeHTTP(w, r)
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
