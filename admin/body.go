package admin

import (
	"net/http"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/web"
)

// MaxImportBody bounds a seed file upload (POST /mfa/devices/hardware), the admin API's one
// large body: 8 MiB as sent, envelope included. Every other admin call takes web.MaxBodySize.
const MaxImportBody = 8 << 20

// boundBody bounds an admin API body: web.MaxBodySize, or MaxImportBody for seed files. It
// answers and returns false when the body is refused.
func boundBody(w http.ResponseWriter, r *http.Request) bool {
	limit := int64(web.MaxBodySize)
	if r.URL.Path == "/mfa/devices/hardware" {
		limit = MaxImportBody
	}
	if r.ContentLength > limit {
		w.Header().Set("Connection", "close")
		web.Refuse(w, auth.CodeEntityTooLarge, "The request body is larger than the "+web.SizeText(limit)+" this admin call takes.")
		return false
	}
	if web.IsMultipart(r.Header.Get("Content-Type")) {
		web.Refuse(w, auth.CodeInvalidInput, "The admin API takes JSON, CSV or PSKC bodies, not multipart forms.")
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	return true
}
