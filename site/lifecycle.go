package site

import (
	"net/http"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/web"
)

// The device lifecycle through the JSON API: resync, deactivate, recovery codes.

func (s *Site) apiResync(w http.ResponseWriter, r *http.Request) {
	c, req, ok := signedInJSON[twoCodes](s, w, r)
	if !ok {
		return
	}
	dev, err := s.ops.Resync(r.Context(), c.User(), r.PathValue("serial"), req.Code1, req.Code2)
	if err != nil {
		s.fail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, web.ViewOfDevice(dev))
}

func (s *Site) apiDeactivate(w http.ResponseWriter, r *http.Request) {
	c, ok := s.signedIn(w, r, csrfHeader(r))
	if !ok {
		return
	}
	if err := s.deactivateDevice(w, r, c, r.PathValue("serial")); err != nil {
		s.fail(w, err)
		return
	}
	// The browser's session was signed again: its page needs the new session's CSRF token.
	resp := struct {
		Deactivated string `json:"deactivated"`
		CSRFToken   string `json:"csrf_token,omitempty"`
	}{Deactivated: r.PathValue("serial")}
	if c.FromCookie {
		resp.CSRFToken = s.ops.Cookies.CSRFToken(&c.Claims)
	}
	web.WriteJSON(w, http.StatusOK, resp)
}

// deactivateDevice is DeactivateMFADevice for the caller. It voids every session and token of
// the user; this browser's is signed again, so the user is not thrown out for tidying up.
func (s *Site) deactivateDevice(w http.ResponseWriter, r *http.Request, c *auth.Caller, serial string) error {
	if err := s.ops.Deactivate(r.Context(), c, serial); err != nil {
		return err
	}
	if !c.FromCookie {
		return nil
	}
	next := s.ops.AfterRevocation(c.Claims)
	if err := s.writeSession(w, r, next); err != nil {
		return err
	}
	c.Claims = next // the page drawn next carries the new session's CSRF token
	return nil
}

func (s *Site) apiRecoveryCodes(w http.ResponseWriter, r *http.Request) {
	c, ok := s.signedIn(w, r, csrfHeader(r))
	if !ok {
		return
	}
	codes, err := s.ops.NewRecoveryCodes(r.Context(), c)
	if err != nil {
		s.fail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, struct {
		Codes []string `json:"codes"`
	}{codes})
}
