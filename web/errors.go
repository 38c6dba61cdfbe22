package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-mfa/caddy-mfa/auth"
)

var statusOf = map[string]int{
	auth.CodeInvalidInput:        http.StatusBadRequest,
	auth.CodeValidationError:     http.StatusBadRequest,
	auth.CodeAuthRequired:        http.StatusUnauthorized,
	auth.CodeMFARequired:         http.StatusUnauthorized,
	auth.CodeInvalidAuthCode:     http.StatusForbidden,
	auth.CodeAccessDenied:        http.StatusForbidden,
	auth.CodeNoSuchEntity:        http.StatusNotFound,
	auth.CodeEntityAlreadyExists: http.StatusConflict,
	auth.CodeLimitExceeded:       http.StatusConflict,
	auth.CodeDeleteConflict:      http.StatusConflict,
	auth.CodeEntityTooLarge:      http.StatusRequestEntityTooLarge,
	auth.CodeThrottled:           http.StatusTooManyRequests,
	auth.CodeServiceFailure:      http.StatusServiceUnavailable,
}

// Status is the HTTP status of an error code.
func Status(code string) int { return statusOf[code] }

// ErrorBody is SPEC's JSON error body.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// WriteError answers with the JSON error body.
func WriteError(w http.ResponseWriter, e *auth.Error) {
	SetRetryAfter(w, e)
	var body ErrorBody
	body.Error.Code, body.Error.Message = e.Code, e.Message
	WriteJSON(w, Status(e.Code), body)
}

// Refuse answers with a JSON error body of code and message.
func Refuse(w http.ResponseWriter, code, message string) { WriteError(w, auth.NewError(code, message)) }

// WriteJSON answers with v as JSON, never cached.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// SetRetryAfter tells a throttled client how many whole seconds to wait.
func SetRetryAfter(w http.ResponseWriter, e *auth.Error) {
	if e.Code == auth.CodeThrottled && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
}

// Explain is err as the caller sees it. A failure of the gateway itself (storage, keys) is
// logged here, since the caller only learns that it happened; no secret is ever inside such an
// error.
func Explain(log *zap.Logger, err error) *auth.Error {
	e := auth.AsError(err)
	if e.Code == auth.CodeServiceFailure && log != nil {
		log.Error("request failed", zap.Error(err))
	}
	return e
}

// Fail answers with err's JSON error body: the one way an operation's error reaches an API client.
func Fail(w http.ResponseWriter, log *zap.Logger, err error) { WriteError(w, Explain(log, err)) }
