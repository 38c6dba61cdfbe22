package gateway

import (
	"embed"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/caddy-mfa/caddy-mfa/policy"
)

//go:embed static
var staticFiles embed.FS

// newSite routes the gateway's own pages and API under the prefix.
func (g *Gate) newSite() http.Handler {
	mux := http.NewServeMux()
	p := g.prefix
	// JSON API
	mux.HandleFunc("POST "+p+"/api/login", g.throttled(g.apiLogin))
	mux.HandleFunc("POST "+p+"/api/verify", g.throttled(g.apiVerify))
	mux.HandleFunc("GET "+p+"/api/devices", g.apiListDevices)
	mux.HandleFunc("POST "+p+"/api/devices/virtual", g.throttled(g.apiCreateVirtual)) // may make an external user's first record
	mux.HandleFunc("POST "+p+"/api/devices/{serial}/enable", g.throttled(g.apiEnable))
	mux.HandleFunc("POST "+p+"/api/devices/{serial}/resync", g.throttled(g.apiResync))
	mux.HandleFunc("POST "+p+"/api/devices/{serial}/deactivate", g.apiDeactivate)
	mux.HandleFunc("POST "+p+"/api/recovery-codes", g.apiRecoveryCodes)
	mux.HandleFunc("POST "+p+"/api/devices/sms", g.throttled(g.apiCreateSMS))
	mux.HandleFunc("POST "+p+"/api/sms/send", g.throttled(g.apiSMSSend))
	mux.HandleFunc("POST "+p+"/api/webauthn/register/begin", g.throttled(g.apiKeyRegisterBegin))
	mux.HandleFunc("POST "+p+"/api/webauthn/register/finish", g.apiKeyRegisterFinish)
	mux.HandleFunc("POST "+p+"/api/webauthn/login/begin", g.apiKeyLoginBegin)
	mux.HandleFunc("POST "+p+"/api/webauthn/login/finish", g.throttled(g.apiKeyLoginFinish))
	mux.HandleFunc("GET "+p+"/api/whoami", g.apiWhoami)
	mux.HandleFunc("POST "+p+"/api/session-token", g.throttled(g.apiSessionToken))
	mux.HandleFunc("GET "+p+"/api/access-keys", g.apiListAccessKeys)
	mux.HandleFunc("POST "+p+"/api/access-keys", g.apiCreateAccessKey)
	mux.HandleFunc("DELETE "+p+"/api/access-keys/{id}", g.apiDeleteAccessKey)
	mux.HandleFunc("POST "+p+"/api/logout", g.apiLogout)
	mux.HandleFunc(p+"/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, apiErr(CodeNoSuchEntity, "No such API endpoint: "+r.Method+" "+r.URL.Path))
	})
	// Pages
	mux.HandleFunc("GET "+p+"/login", g.pageLogin)
	mux.HandleFunc("POST "+p+"/login", g.throttled(g.formLogin))
	mux.HandleFunc("GET "+p+"/verify", g.pageVerify)
	mux.HandleFunc("POST "+p+"/verify", g.throttled(g.formVerify))
	mux.HandleFunc("GET "+p+"/devices", g.pageDevices)
	mux.HandleFunc("POST "+p+"/devices/virtual", g.throttled(g.formCreateVirtual))
	mux.HandleFunc("POST "+p+"/devices/{serial}/enable", g.throttled(g.formEnable))
	mux.HandleFunc("POST "+p+"/devices/{serial}/resync", g.throttled(g.formResync))
	mux.HandleFunc("POST "+p+"/devices/{serial}/deactivate", g.formDeactivate)
	mux.HandleFunc("POST "+p+"/devices/hardware", g.throttled(g.formHardware))
	mux.HandleFunc("POST "+p+"/recovery-codes", g.formRecoveryCodes)
	mux.HandleFunc("POST "+p+"/devices/sms", g.formCreateSMS)
	mux.HandleFunc("POST "+p+"/sms/send", g.throttled(g.formSMSSend))
	mux.HandleFunc("POST "+p+"/access-keys", g.formCreateAccessKey)
	mux.HandleFunc("POST "+p+"/access-keys/{id}/delete", g.formDeleteAccessKey)
	mux.HandleFunc("GET "+p+"/logout", g.pageLogout)
	mux.HandleFunc("POST "+p+"/logout", g.formLogout)
	mux.HandleFunc("GET "+p+"/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, p+"/devices", http.StatusFound)
	})
	mux.Handle("GET "+p+"/static/", http.StripPrefix(p, staticHandler()))
	mux.HandleFunc(p+"/", func(w http.ResponseWriter, r *http.Request) {
		g.renderStatus(w, r, http.StatusNotFound, "Not found", "There is no such page.")
	})
	// Browsers say where a request comes from: a state change started by another site is
	// refused before any handler runs (login CSRF included). Session CSRF tokens come on top.
	return securityHeaders(g.boundBodies(http.NewCrossOriginProtection().Handler(mux)))
}

func staticHandler() http.Handler {
	files := http.FileServerFS(staticFiles)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

// securityHeaders: the pages show secrets (QR codes, recovery codes), so nothing is cached or
// framed, and only the gateway's own script and styles run.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// decodeJSON reads one JSON object into v, refusing unknown fields, trailing data and bodies
// over maxBodySize. An empty body is an empty object.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) *APIError {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodySize))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		if isTooLarge(err) {
			return apiErr(CodeEntityTooLarge, msgTooLarge)
		}
		return apiErr(CodeInvalidInput, "The request body is not valid JSON for this call: "+jsonProblem(err))
	}
	if dec.More() {
		return apiErr(CodeInvalidInput, "The request body holds more than one JSON value.")
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

// signedInJSON starts a JSON call of a signed-in user: the caller, and the body read into a T.
func signedInJSON[T any](g *Gate, w http.ResponseWriter, r *http.Request) (*Caller, *T, bool) {
	c, ok := g.signedIn(w, r, csrfHeader(r))
	if !ok {
		return nil, nil, false
	}
	req := new(T)
	if e := decodeJSON(w, r, req); e != nil {
		writeError(w, e)
		return nil, nil, false
	}
	return c, req, true
}

// signedIn returns the caller of a site request that needs a signed-in user, or writes the
// refusal. State changes by a cookie session must carry the session's CSRF token.
func (g *Gate) signedIn(w http.ResponseWriter, r *http.Request, csrf string) (*Caller, bool) {
	c, err := g.identify(r)
	if err != nil {
		g.refuseCredential(w, err)
		return nil, false
	}
	if c.AuthType == policy.AuthAnonymous {
		w.Header().Set("WWW-Authenticate", `Basic realm="caddy-mfa"`)
		writeError(w, apiErr(CodeAuthRequired, "Sign in first."))
		return nil, false
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && c.AuthType != policy.AuthToken && c.AuthType != policy.AuthAccessKey {
		if !c.fromCookie || !g.svc.Cookies.CheckCSRF(&c.Claims, csrf) {
			writeError(w, apiErr(CodeAccessDenied, "Missing or wrong CSRF token (header X-CSRF-Token)."))
			return nil, false
		}
	}
	return c, true
}
