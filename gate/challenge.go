package gate

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/web"
)

// How the gate says no: a browser's navigation is sent to the site's pages, an API call gets
// SPEC's JSON body and an RFC 9470 challenge.

// wantsHTML tells a browser navigation (answered with redirects to pages) from an API call
// (answered with JSON and WWW-Authenticate).
func wantsHTML(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.Contains(r.Header.Get("Accept"), "text/html")
}

func (g *Gate) redirectTo(w http.ResponseWriter, r *http.Request, page string, extra ...string) {
	target := g.prefix + "/" + page + "?return=" + url.QueryEscape(web.SafeReturn(r.URL.RequestURI())) + strings.Join(extra, "")
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusFound)
}

func (g *Gate) challenge(w http.ResponseWriter, r *http.Request, ch policy.Challenge) {
	switch ch.Remedy {
	case policy.RemedyLogin:
		if wantsHTML(r) && !g.external {
			g.redirectTo(w, r, "login")
			return
		}
		web.ChallengeSignIn(w, r, "Sign in first.", web.LoginURL(r, g.prefix, g.external))
	case policy.RemedyMFA:
		g.challengeFactor(w, r, ch)
	default:
		if wantsHTML(r) {
			g.pages.RenderStatus(w, r, http.StatusForbidden, "Access denied", "Your account may not open this page.")
			return
		}
		web.Refuse(w, auth.CodeAccessDenied, "Access denied.")
	}
}

// challengeFactor asks for a (fresh) second factor, of the kinds that will do.
func (g *Gate) challengeFactor(w http.ResponseWriter, r *http.Request, ch policy.Challenge) {
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
	web.Refuse(w, auth.CodeMFARequired, desc+".")
}

func (g *Gate) challengeEnrolment(w http.ResponseWriter, r *http.Request) {
	if wantsHTML(r) {
		g.redirectTo(w, r, "devices")
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_user_authentication", error_description="Enrol an MFA device first"`)
	web.Refuse(w, auth.CodeMFARequired, "Enrol an MFA device at "+g.prefix+"/devices first.")
}

// refuseRequest answers a request whose path or host has no canonical form: 400, as a page for a
// browser's navigation and as JSON for everything else.
func (g *Gate) refuseRequest(w http.ResponseWriter, r *http.Request, err error) {
	g.ops.Metrics().Decision("bad_request")
	msg := "The request was refused: " + err.Error() + ", which the site behind this gateway may read as another request."
	if wantsHTML(r) {
		g.pages.RenderStatus(w, r, http.StatusBadRequest, "Bad request", msg)
		return
	}
	web.Refuse(w, auth.CodeInvalidInput, msg)
}
