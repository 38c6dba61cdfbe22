package site

import (
	"net/http"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/web"
)

// The user's first recovery codes, shown once on the way out of their first enrolment: the
// device forms show them at once; the security-key script, which registers through the API,
// posts the form below right after.

// showFirstCodes issues the caller's first recovery codes and shows them, with a Continue to
// where the user goes on to after adding serial. A user who has codes already is sent on.
func (s *Site) showFirstCodes(w http.ResponseWriter, r *http.Request, c *auth.Caller, serial string, enrolling bool) {
	codes, err := s.ops.FirstRecoveryCodes(r.Context(), c)
	if err != nil {
		// The device is enabled all the same; the devices page says there are no codes yet.
		s.afterForm(w, r, c, err, "")
		return
	}
	next := s.nextAfterAdding(r, serial, enrolling)
	if codes == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	p := s.codesPage(r, c, "Save your recovery codes",
		"If you lose your device, each of these codes signs you in once. Save them now: they are not shown again.", codes)
	p.Notice, _ = s.added(r, c, serial) // the page is about other codes: say only what was added
	p.Link, p.LinkText = next, "Continue"
	s.render(w, http.StatusOK, "secrets", p)
}

// formFirstCodes is the form the security-key script posts once the user's first key is
// registered (the answer carried a new session, so its CSRF token).
func (s *Site) formFirstCodes(w http.ResponseWriter, r *http.Request) {
	c, ok := s.formCaller(w, r)
	if !ok {
		return
	}
	s.showFirstCodes(w, r, c, web.PostValue(r, "serial"), web.PostValue(r, "enrolling") == "1")
}
