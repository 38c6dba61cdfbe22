package site

import (
	"net/http"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/session"
	"github.com/caddy-mfa/caddy-mfa/web"
)

// A user's own sign-ins through the JSON API and the devices page: where they are signed in,
// and ending one, or all but this one.

// signInView is a sign-in as the user's own list shows it: marked when it is this browser's.
type signInView struct {
	web.SignInView
	Current bool `json:"current"`
}

func viewOfSignIn(rec *session.SignIn, current session.SessionID) signInView {
	return signInView{SignInView: web.ViewOfSignIn(rec), Current: rec.ID == current}
}

// signInsOf is the caller's sign-ins as the API and the page show them.
func (s *Site) signInsOf(r *http.Request, c *auth.Caller) ([]signInView, error) {
	recs, err := s.ops.SignIns(r.Context(), c.User())
	if err != nil {
		return nil, err
	}
	out := make([]signInView, 0, len(recs))
	for _, rec := range recs {
		out = append(out, viewOfSignIn(rec, c.Claims.SignInID))
	}
	return out, nil
}

func (s *Site) apiSignIns(w http.ResponseWriter, r *http.Request) {
	c, ok := s.signedIn(w, r, "")
	if !ok {
		return
	}
	out, err := s.signInsOf(r, c)
	if err != nil {
		s.fail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, out)
}

// endSignIn ends the sign-in the path names.
func (s *Site) endSignIn(r *http.Request, c *auth.Caller) error {
	var id session.SessionID
	if err := id.UnmarshalText([]byte(r.PathValue("id"))); err != nil {
		return auth.NewError(auth.CodeInvalidInput, "id: "+err.Error())
	}
	return s.ops.EndSignIn(r.Context(), c, id)
}

func (s *Site) apiEndSignIn(w http.ResponseWriter, r *http.Request) {
	c, ok := s.signedIn(w, r, csrfHeader(r))
	if !ok {
		return
	}
	if err := s.endSignIn(r, c); err != nil {
		s.fail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, struct {
		Ended string `json:"ended"`
	}{r.PathValue("id")})
}

func (s *Site) apiEndOtherSignIns(w http.ResponseWriter, r *http.Request) {
	c, ok := s.signedIn(w, r, csrfHeader(r))
	if !ok {
		return
	}
	n, err := s.endOtherSignIns(w, r, c)
	if err != nil {
		s.fail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, struct {
		Ended     int    `json:"ended"`
		CSRFToken string `json:"csrf_token,omitempty"`
	}{n, s.ops.Cookies.CSRFToken(&c.Claims)})
}

// endOtherSignIns signs the user out everywhere else and this browser in again, after the
// revocation that did it; c then carries the new session (and its CSRF token).
func (s *Site) endOtherSignIns(w http.ResponseWriter, r *http.Request, c *auth.Caller) (int, error) {
	n, next, err := s.ops.EndOtherSignIns(r.Context(), c)
	if err != nil || !c.FromCookie {
		return n, err
	}
	if err := s.writeSession(w, r, next); err != nil {
		return n, err
	}
	c.Claims = next
	return n, nil
}

func (s *Site) formEndSignIn(w http.ResponseWriter, r *http.Request) {
	c, ok := s.formCaller(w, r)
	if !ok {
		return
	}
	s.afterForm(w, r, c, s.endSignIn(r, c), "That browser is signed out.")
}

func (s *Site) formEndOtherSignIns(w http.ResponseWriter, r *http.Request) {
	c, ok := s.formCaller(w, r)
	if !ok {
		return
	}
	_, err := s.endOtherSignIns(w, r, c)
	s.afterForm(w, r, c, err, "You are signed out everywhere else.")
}
