package site

import (
	"mime/multipart"
	"net/http"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/web"
)

// boundBodies runs before every handler of the site. A body over web.MaxBodySize is refused
// (413), by its Content-Length at once or when reading reaches the limit; a multipart body is
// refused (no page posts one, and parsing one spills its files into the temp folder, where
// Caddy's copy of the request leaves them for ever); a page's form is parsed here, in memory,
// so no handler parses one itself.
func (s *Site) boundBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api := s.isAPI(r)
		if r.ContentLength > web.MaxBodySize {
			s.refuseTooLarge(w, r, api)
			return
		}
		if web.IsMultipart(r.Header.Get("Content-Type")) {
			s.refuseMultipart(w, r, api)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, web.MaxBodySize)
		// A parsed multipart form stands in place, so a later FormValue never parses one.
		r.MultipartForm = &multipart.Form{}
		if !api {
			// A malformed pair is dropped and the rest kept, as FormValue always did.
			if err := r.ParseForm(); web.IsTooLarge(err) {
				s.refuseTooLarge(w, r, false)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Site) refuseTooLarge(w http.ResponseWriter, r *http.Request, api bool) {
	w.Header().Set("Connection", "close") // the rest of the body is not read
	if api {
		web.Refuse(w, auth.CodeEntityTooLarge, web.MsgTooLarge)
		return
	}
	s.pages.RenderStatus(w, r, http.StatusRequestEntityTooLarge, "Request too large", web.MsgTooLarge)
}

func (s *Site) refuseMultipart(w http.ResponseWriter, r *http.Request, api bool) {
	w.Header().Set("Connection", "close")
	if api {
		web.Refuse(w, auth.CodeInvalidInput, "The request body must be JSON, not a multipart form.")
		return
	}
	s.pages.RenderStatus(w, r, http.StatusUnsupportedMediaType, "Unsupported form", "The pages take plain forms (application/x-www-form-urlencoded), not multipart ones.")
}
