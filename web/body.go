package web

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/caddy-mfa/caddy-mfa/auth"
)

// MaxBodySize caps every request body the site and the admin API read (but seed files): their
// largest legitimate body (a WebAuthn attestation) is a few KiB.
const MaxBodySize = 64 << 10

// MsgTooLarge is the answer to a body over MaxBodySize.
const MsgTooLarge = "The request body is larger than the 64 KiB the site accepts."

// DecodeJSON reads one JSON object into v, refusing unknown fields, trailing data and bodies
// over MaxBodySize. An empty body is an empty object.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) *auth.Error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodySize))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		if IsTooLarge(err) {
			return auth.NewError(auth.CodeEntityTooLarge, MsgTooLarge)
		}
		return auth.NewError(auth.CodeInvalidInput, "The request body is not valid JSON for this call: "+jsonProblem(err))
	}
	if dec.More() {
		return auth.NewError(auth.CodeInvalidInput, "The request body holds more than one JSON value.")
	}
	return nil
}

// jsonProblem describes a decoding error without echoing the body (it may hold a password).
func jsonProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return "field " + typeErr.Field + " must be a " + typeErr.Type.String()
	case errors.As(err, &syntaxErr):
		return "syntax error"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return "malformed"
}

// IsTooLarge reports a read that reached http.MaxBytesReader's limit.
func IsTooLarge(err error) bool {
	var tooBig *http.MaxBytesError
	return errors.As(err, &tooBig)
}

// IsMultipart is true for any multipart/* media type, however it is spelled.
func IsMultipart(contentType string) bool {
	media, _, err := mime.ParseMediaType(contentType)
	if err == nil {
		return strings.HasPrefix(media, "multipart/")
	}
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(contentType)), "multipart/")
}

// SizeText says a byte count in whole MiB or KiB.
func SizeText(n int64) string {
	if n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + " MiB"
	}
	return strconv.FormatInt(n>>10, 10) + " KiB"
}

// FormValue is a field of the form the site parsed, or of the query string when none was
// parsed (outside the site). It never reads a body itself, unlike http.Request.FormValue.
func FormValue(r *http.Request, key string) string {
	if r.Form != nil {
		return r.Form.Get(key)
	}
	return r.URL.Query().Get(key)
}

// PostValue is a field of the posted form the site parsed; "" when there is none.
func PostValue(r *http.Request, key string) string {
	if r.PostForm == nil {
		return ""
	}
	return r.PostForm.Get(key)
}
