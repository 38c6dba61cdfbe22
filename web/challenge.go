package web

import (
	"net/http"
	"net/url"

	"github.com/caddy-mfa/caddy-mfa/auth"
)

// How a request with no (good) credential is told to sign in. A Basic challenge makes every
// browser draw its own user-name and password dialog over the page, which is right for a
// navigation or an API client (curl, an access key) and wrong for a page's script: a fetch()
// that meets one stalls behind the dialog. Scripts get a challenge no browser acts on, and the
// sign-in page's address to send the user to.

const (
	basicChallenge  = `Basic realm="caddy-mfa"`
	bearerChallenge = `Bearer realm="caddy-mfa"`
)

// FromScript reports a request a page's script made (fetch, XMLHttpRequest), as browsers say
// it: any Sec-Fetch-Mode but navigate, or the X-Requested-With that script libraries send.
func FromScript(r *http.Request) bool {
	mode := r.Header.Get("Sec-Fetch-Mode")
	return (mode != "" && mode != "navigate") || r.Header.Get("X-Requested-With") != ""
}

// signInBody is SPEC's error body with, for a page's script, where the user signs in.
type signInBody struct {
	ErrorBody
	LoginURL string `json:"login_url,omitempty"`
}

// ChallengeSignIn answers a call that needs a signed-in user with none: 401
// AuthenticationRequired. loginURL is the sign-in page ("" where an earlier handler signs users
// in); a page's script is given it instead of a Basic challenge.
func ChallengeSignIn(w http.ResponseWriter, r *http.Request, message, loginURL string) {
	challengeSignIn(w, r, auth.NewError(auth.CodeAuthRequired, message), loginURL)
}

func challengeSignIn(w http.ResponseWriter, r *http.Request, e *auth.Error, loginURL string) {
	if !FromScript(r) {
		w.Header().Add("WWW-Authenticate", basicChallenge)
		WriteError(w, e)
		return
	}
	if w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", bearerChallenge)
	}
	var body signInBody
	body.Error.Code, body.Error.Message, body.LoginURL = e.Code, e.Message, loginURL
	WriteJSON(w, Status(e.Code), body)
}

// RefuseCredential answers a credential that was presented but does not hold: a token that is
// invalid, expired or revoked, or an access key that is not one.
func RefuseCredential(w http.ResponseWriter, r *http.Request, err error, loginURL string) {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+err.Error()+`"`)
	lead := "The credential is invalid, expired or revoked"
	if ce, ok := err.(*CredentialError); ok && ce.lead != "" {
		lead = ce.lead
	}
	e := auth.NewError(auth.CodeAuthRequired, lead+": "+err.Error()+".")
	challengeSignIn(w, r, e, loginURL)
}

// LoginURL is the sign-in page of the site at prefix, returning to the page the request came
// from when a browser says it was one of this site's ("" for a mount whose users an earlier
// handler signs in).
func LoginURL(r *http.Request, prefix string, external bool) string {
	if external {
		return ""
	}
	back := "/"
	if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host && ref.Host != "" {
		back = SafeReturn(ref.RequestURI())
	}
	return prefix + "/login?return=" + url.QueryEscape(back)
}
