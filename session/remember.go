package session

import (
	"net/http"
	"time"
)

// RememberSuffix follows the session cookie's name in the name of the cookie that holds a
// remembered browser's credential, so that it takes the operator's cookie_name (and the
// __Host- prefix on HTTPS) with it, and the gate knows it as the gateway's own.
const RememberSuffix = "_remember"

// RememberName is the remember cookie's name on this request's scheme.
func (s *Cookies) RememberName(r *http.Request) string { return s.CookieName(r) + RememberSuffix }

// ReadRemember is the remembered-browser credential the request carries; "" for none.
func (s *Cookies) ReadRemember(r *http.Request) string {
	v, _ := cookieValue(r.Header["Cookie"], s.RememberName(r))
	return v
}

// WriteRemember sets the remember cookie for d. SameSite=Strict: only the gateway's own
// sign-in form, posted from its own page, ever sends it; HttpOnly: no script reads it.
func (s *Cookies) WriteRemember(w http.ResponseWriter, r *http.Request, value string, d time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: s.RememberName(r), Value: value, Path: "/", MaxAge: int(d / time.Second),
		HttpOnly: true, Secure: s.Secure(r), SameSite: http.SameSiteStrictMode})
}

// ClearRemember deletes the remember cookie.
func (s *Cookies) ClearRemember(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: s.RememberName(r), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.Secure(r), SameSite: http.SameSiteStrictMode})
}
