package site

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/session"
	"github.com/caddy-mfa/caddy-mfa/web"
)

// Remembered browsers through the site: the sign-in that reads the remember cookie, the
// "Remember this browser" choice after a factor, and the user's list with "forget".

// signIn checks a password; on a site that remembers browsers the browser's remember cookie
// goes with it, and may bring a factor.
func (s *Site) signIn(r *http.Request, name, password string) (session.Claims, bool, error) {
	rc := auth.RememberedCredential{For: s.remember, Client: web.ClientOf(r, s.clientIP)}
	if s.remember > 0 {
		rc.Value = s.ops.Cookies.ReadRemember(r)
	}
	return s.ops.SignInRemembered(r.Context(), name, password, rc)
}

// refuseRemember says why a request to remember the browser cannot be met here, before a code
// is spent on it; nil when it can, or was not asked.
func (s *Site) refuseRemember(asked bool) error {
	if asked && s.remember <= 0 {
		return auth.NewError(auth.CodeInvalidInput, "remember: this site does not remember browsers (remember_device is off).")
	}
	return nil
}

// rememberBrowser gives the browser a remember cookie for the factor next carries. The factor
// has passed and its session cookie is written whatever happens here, so a failure is logged
// and told as remembered false rather than as a failed call.
func (s *Site) rememberBrowser(w http.ResponseWriter, r *http.Request, next session.Claims) bool {
	cred, err := s.ops.RememberBrowser(r.Context(), next, s.remember, web.ClientOf(r, s.clientIP))
	if err != nil {
		s.ops.Log.Info("not remembering a browser", zap.String("user", next.User), zap.Error(err))
		return false
	}
	s.ops.Cookies.WriteRemember(w, r, cred, s.remember)
	return true
}

// wantsRemember reads "remember" from a WebAuthn finish body, beside the assertion.
func wantsRemember(body []byte) bool {
	var b struct {
		Remember bool `json:"remember"`
	}
	_ = json.Unmarshal(body, &b)
	return b.Remember
}

// formRemember reads the verify page's checkbox.
func formRemember(r *http.Request) bool {
	v := web.PostValue(r, "remember")
	return v != "" && v != "0" && v != "false"
}

type rememberedView struct {
	ID        string    `json:"id"`
	FirstUsed time.Time `json:"first_used"`
	LastUsed  time.Time `json:"last_used"`
	Expires   time.Time `json:"expires"`
	SourceIP  string    `json:"source_ip"`
	UserAgent string    `json:"user_agent"`
	Current   bool      `json:"current"`
}

// rememberedOf is the caller's remembered browsers as the API and the page show them; current
// marks the one this request's cookie names.
func (s *Site) rememberedOf(r *http.Request, c *auth.Caller) ([]rememberedView, error) {
	recs, err := s.ops.RememberedBrowsers(r.Context(), c.User())
	if err != nil {
		return nil, err
	}
	mine, _, _ := strings.Cut(s.ops.Cookies.ReadRemember(r), ".")
	out := make([]rememberedView, 0, len(recs))
	for _, rec := range recs {
		out = append(out, viewOfRemembered(rec, mine))
	}
	return out, nil
}

func viewOfRemembered(rec *session.RememberedBrowser, current string) rememberedView {
	return rememberedView{ID: rec.ID, FirstUsed: rec.Created, LastUsed: rec.LastUsed, Expires: rec.Expires,
		SourceIP: rec.SourceIP, UserAgent: rec.UserAgent, Current: rec.ID == current}
}

func (s *Site) apiRemembered(w http.ResponseWriter, r *http.Request) {
	c, ok := s.signedIn(w, r, "")
	if !ok {
		return
	}
	out, err := s.rememberedOf(r, c)
	if err != nil {
		s.fail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, out)
}

// forget forgets the remembered browser the path names; forgetting this one also deletes its
// cookie.
func (s *Site) forget(w http.ResponseWriter, r *http.Request, c *auth.Caller) error {
	id := r.PathValue("id")
	if err := s.ops.ForgetBrowser(r.Context(), c, id); err != nil {
		return err
	}
	if mine, _, _ := strings.Cut(s.ops.Cookies.ReadRemember(r), "."); mine == id {
		s.ops.Cookies.ClearRemember(w, r)
	}
	return nil
}

func (s *Site) apiForget(w http.ResponseWriter, r *http.Request) {
	c, ok := s.signedIn(w, r, csrfHeader(r))
	if !ok {
		return
	}
	if err := s.forget(w, r, c); err != nil {
		s.fail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, struct {
		Forgotten string `json:"forgotten"`
	}{r.PathValue("id")})
}

func (s *Site) formForget(w http.ResponseWriter, r *http.Request) {
	c, ok := s.formCaller(w, r)
	if !ok {
		return
	}
	s.afterForm(w, r, c, s.forget(w, r, c), "That browser is forgotten: it will be asked for a code again.")
}

// rememberFor says how long this site remembers browsers, as the verify page puts it.
func rememberFor(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d <= 0:
		return ""
	case d == day:
		return "1 day"
	case d%day == 0:
		return strconv.Itoa(int(d/day)) + " days"
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + " hours"
	}
	return d.String()
}
