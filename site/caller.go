package site

import (
	"net/http"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/session"
	"github.com/caddy-mfa/caddy-mfa/web"
)

// Who calls the site, and whether they may: the steps every handler starts with.

func csrfHeader(r *http.Request) string { return r.Header.Get("X-CSRF-Token") }

// signedInJSON starts a JSON call of a signed-in user: the caller, and the body read into a T.
func signedInJSON[T any](s *Site, w http.ResponseWriter, r *http.Request) (*auth.Caller, *T, bool) {
	c, ok := s.signedIn(w, r, csrfHeader(r))
	if !ok {
		return nil, nil, false
	}
	req := new(T)
	if e := web.DecodeJSON(w, r, req); e != nil {
		web.WriteError(w, e)
		return nil, nil, false
	}
	return c, req, true
}

// signedIn returns the caller of a site request that needs a signed-in user, or writes the
// refusal. State changes by a cookie session must carry the session's CSRF token.
func (s *Site) signedIn(w http.ResponseWriter, r *http.Request, csrf string) (*auth.Caller, bool) {
	c, err := s.credentials.Identify(r)
	if err != nil {
		web.RefuseCredential(w, r, err, web.LoginURL(r, s.prefix, s.external))
		return nil, false
	}
	if c.AuthType == policy.AuthAnonymous {
		web.ChallengeSignIn(w, r, "Sign in first.", web.LoginURL(r, s.prefix, s.external))
		return nil, false
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && c.AuthType != policy.AuthToken && c.AuthType != policy.AuthAccessKey {
		if !c.FromCookie || !s.ops.Cookies.CheckCSRF(&c.Claims, csrf) {
			web.Refuse(w, auth.CodeAccessDenied, "Missing or wrong CSRF token (header X-CSRF-Token).")
			return nil, false
		}
	}
	return c, true
}

// throttled wraps a handler that checks a password or a factor, or that may make an external
// user's first record (the names an earlier handler passes are not the gateway's to bound).
func (s *Site) throttled(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ok, wait := s.ops.AllowAttempt(s.clientIP(r))
		if ok {
			next(w, r)
			return
		}
		e := &auth.Error{Code: auth.CodeThrottled, Message: "Too many attempts from your address; try again later.", RetryAfter: wait}
		if s.isAPI(r) {
			web.WriteError(w, e)
			return
		}
		web.SetRetryAfter(w, e)
		s.pages.RenderStatus(w, r, http.StatusTooManyRequests, "Too many attempts", e.Message)
	}
}

// writeSession sets the browser's session cookie to claims, and records where the sign-in was
// used (the user's list of sign-ins).
func (s *Site) writeSession(w http.ResponseWriter, r *http.Request, claims session.Claims) error {
	if err := s.ops.Cookies.Write(w, r, claims); err != nil {
		return err
	}
	s.ops.SeenSignIn(r.Context(), claims, web.ClientOf(r, s.clientIP))
	return nil
}
