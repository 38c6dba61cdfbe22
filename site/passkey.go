package site

import (
	"io"
	"net/http"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/web"
)

// Signing in with a passkey alone, from the sign-in page: no user name, no password.

// passkeyAllowed refuses passwordless sign-in on a site whose users an earlier handler signs in.
func (s *Site) passkeyAllowed(w http.ResponseWriter) bool {
	if s.external {
		web.Refuse(w, auth.CodeNoSuchEntity, "Sign in to the site first; passkeys here are a second factor.")
		return false
	}
	return true
}

func (s *Site) apiPasskeyBegin(w http.ResponseWriter, r *http.Request) {
	if !s.passkeyAllowed(w) {
		return
	}
	assertion, err := s.ops.BeginPasskeySignIn(r.Context(), s.relyingParty(r))
	if err != nil {
		s.fail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, assertion)
}

func (s *Site) apiPasskeyFinish(w http.ResponseWriter, r *http.Request) {
	if !s.passkeyAllowed(w) {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, web.MaxBodySize))
	if web.IsTooLarge(err) {
		web.Refuse(w, auth.CodeEntityTooLarge, web.MsgTooLarge)
		return
	}
	if err != nil {
		web.Refuse(w, auth.CodeInvalidInput, "The request body could not be read.")
		return
	}
	next, err := s.ops.FinishPasskeySignIn(r.Context(), body)
	if err == nil {
		err = s.writeSession(w, r, next)
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, sessionState{User: next.User, MFA: s.mfaStateOf(&next), CSRFToken: s.ops.Cookies.CSRFToken(&next)})
}
