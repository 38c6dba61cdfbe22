package gateway

import (
	"errors"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
)

// maxBodySize caps every request body the site reads: its largest legitimate body (a WebAuthn
// attestation) is a few KiB.
const maxBodySize = 64 << 10

// boundBodies runs before every handler of the site. A body over maxBodySize is refused (413),
// by its Content-Length at once or when reading reaches the limit; a multipart body is refused
// (no page posts one, and parsing one spills its files into the temp folder, where Caddy's
// copy of the request leaves them for ever); a page's form is parsed here, in memory, so no
// handler parses one itself.
func (g *Gate) boundBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api := strings.HasPrefix(r.URL.Path, g.prefix+"/api/")
		if r.ContentLength > maxBodySize {
			g.refuseTooLarge(w, r, api)
			return
		}
		if isMultipart(r.Header.Get("Content-Type")) {
			g.refuseMultipart(w, r, api)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBodySize)
		// A parsed multipart form stands in place, so a later FormValue never parses one.
		r.MultipartForm = &multipart.Form{}
		if !api {
			// A malformed pair is dropped and the rest kept, as FormValue always did.
			if err := r.ParseForm(); isTooLarge(err) {
				g.refuseTooLarge(w, r, false)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// isMultipart is true for any multipart/* media type, however it is spelled.
func isMultipart(contentType string) bool {
	media, _, err := mime.ParseMediaType(contentType)
	if err == nil {
		return strings.HasPrefix(media, "multipart/")
	}
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(contentType)), "multipart/")
}

func isTooLarge(err error) bool {
	var tooBig *http.MaxBytesError
	return errors.As(err, &tooBig)
}

const msgTooLarge = "The request body is larger than the 64 KiB the site accepts."

func (g *Gate) refuseTooLarge(w http.ResponseWriter, r *http.Request, api bool) {
	w.Header().Set("Connection", "close") // the rest of the body is not read
	if api {
		writeError(w, apiErr(CodeEntityTooLarge, msgTooLarge))
		return
	}
	g.renderStatus(w, r, http.StatusRequestEntityTooLarge, "Request too large", msgTooLarge)
}

func (g *Gate) refuseMultipart(w http.ResponseWriter, r *http.Request, api bool) {
	w.Header().Set("Connection", "close")
	if api {
		writeError(w, apiErr(CodeInvalidInput, "The request body must be JSON, not a multipart form."))
		return
	}
	g.renderStatus(w, r, http.StatusUnsupportedMediaType, "Unsupported form", "The pages take plain forms (application/x-www-form-urlencoded), not multipart ones.")
}

// formValue is a field of the form the site parsed, or of the query string when none was
// parsed (outside the site). It never reads a body itself, unlike http.Request.FormValue.
func formValue(r *http.Request, key string) string {
	if r.Form != nil {
		return r.Form.Get(key)
	}
	return r.URL.Query().Get(key)
}

// postValue is a field of the posted form the site parsed; "" when there is none.
func postValue(r *http.Request, key string) string {
	if r.PostForm == nil {
		return ""
	}
	return r.PostForm.Get(key)
}

// boundAdminBody bounds an admin API body: maxBodySize, or MaxImportBody for seed files. It
// answers and returns false when the body is refused.
func boundAdminBody(w http.ResponseWriter, r *http.Request) bool {
	limit := int64(maxBodySize)
	if r.URL.Path == "/mfa/devices/hardware" {
		limit = MaxImportBody
	}
	if r.ContentLength > limit {
		w.Header().Set("Connection", "close")
		writeError(w, apiErr(CodeEntityTooLarge, "The request body is larger than the "+sizeText(limit)+" this admin call takes."))
		return false
	}
	if isMultipart(r.Header.Get("Content-Type")) {
		writeError(w, apiErr(CodeInvalidInput, "The admin API takes JSON, CSV or PSKC bodies, not multipart forms."))
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	return true
}

// sizeText says a byte count in whole MiB or KiB.
func sizeText(n int64) string {
	if n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + " MiB"
	}
	return strconv.FormatInt(n>>10, 10) + " KiB"
}
