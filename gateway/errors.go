package gateway

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/identity"
)

// Error codes of the site API (SPEC section 5), each with its HTTP status.
const (
	CodeInvalidInput        = "InvalidInput"
	CodeValidationError     = "ValidationError"
	CodeAuthRequired        = "AuthenticationRequired"
	CodeMFARequired         = "MultiFactorAuthenticationRequired"
	CodeInvalidAuthCode     = "InvalidAuthenticationCode"
	CodeAccessDenied        = "AccessDenied"
	CodeNoSuchEntity        = "NoSuchEntity"
	CodeEntityAlreadyExists = "EntityAlreadyExists"
	CodeLimitExceeded       = "LimitExceeded"
	CodeDeleteConflict      = "DeleteConflict"
	CodeEntityTooLarge      = "EntityTooLarge"
	CodeThrottled           = "Throttled"
	CodeServiceFailure      = "ServiceFailure"
)

var statusOf = map[string]int{
	CodeInvalidInput:        http.StatusBadRequest,
	CodeValidationError:     http.StatusBadRequest,
	CodeAuthRequired:        http.StatusUnauthorized,
	CodeMFARequired:         http.StatusUnauthorized,
	CodeInvalidAuthCode:     http.StatusForbidden,
	CodeAccessDenied:        http.StatusForbidden,
	CodeNoSuchEntity:        http.StatusNotFound,
	CodeEntityAlreadyExists: http.StatusConflict,
	CodeLimitExceeded:       http.StatusConflict,
	CodeDeleteConflict:      http.StatusConflict,
	CodeEntityTooLarge:      http.StatusRequestEntityTooLarge,
	CodeThrottled:           http.StatusTooManyRequests,
	CodeServiceFailure:      http.StatusServiceUnavailable,
}

// APIError is an error the site answers with: a code, a message meant for the caller, and for
// Throttled how long to wait.
type APIError struct {
	Code       string
	Message    string
	RetryAfter time.Duration
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// Status is the HTTP status of the error's code.
func (e *APIError) Status() int { return statusOf[e.Code] }

func apiErr(code, message string) *APIError { return &APIError{Code: code, Message: message} }

// Messages shared by every path that refuses a code, so that no answer tells one cause from another.
const (
	msgBadCredentials = "The user name or password is incorrect."
	msgBadCode        = "MultiFactorAuthentication failed with invalid MFA one time pass code."
	msgBadDeviceCode  = "Authentication code for device is not valid."
)

// toAPIError maps the errors of the packages below to the site's codes. Anything unknown is a
// failure of the gateway itself: the caller learns only that.
func toAPIError(err error) *APIError {
	var ae *APIError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, identity.ErrBadCredentials):
		return apiErr(CodeAuthRequired, msgBadCredentials)
	case errors.Is(err, factors.ErrInvalidInput):
		return apiErr(CodeInvalidInput, err.Error())
	case errors.Is(err, factors.ErrNoSuchDevice):
		return apiErr(CodeNoSuchEntity, "The MFA device does not exist or is not yours.")
	case errors.Is(err, factors.ErrDeviceExists), errors.Is(err, factors.ErrAlreadyEnabled):
		return apiErr(CodeEntityAlreadyExists, err.Error())
	case errors.Is(err, factors.ErrNoCeremony):
		return apiErr(CodeInvalidInput, err.Error())
	case errors.Is(err, factors.ErrKeyRefused), errors.Is(err, factors.ErrClonedKey):
		return apiErr(CodeInvalidAuthCode, "The security key's answer was refused.")
	case errors.Is(err, factors.ErrNoSecurityKey):
		return apiErr(CodeNoSuchEntity, err.Error())
	case errors.Is(err, factors.ErrSMSTooSoon):
		return &APIError{Code: CodeThrottled, Message: err.Error(), RetryAfter: factors.SMSResendAfter}
	case errors.Is(err, factors.ErrAssigned):
		return apiErr(CodeDeleteConflict, err.Error())
	case errors.Is(err, factors.ErrNotEnabled):
		return apiErr(CodeInvalidAuthCode, msgBadDeviceCode)
	case errors.Is(err, factors.ErrDeviceLimit):
		return apiErr(CodeLimitExceeded, err.Error())
	case errors.Is(err, factors.ErrInvalidCode), errors.Is(err, factors.ErrCodeReplayed):
		return apiErr(CodeInvalidAuthCode, msgBadCode)
	case errors.Is(err, identity.ErrAccessKeyLimit):
		return apiErr(CodeLimitExceeded, err.Error())
	case errors.Is(err, identity.ErrNoSuchAccessKey), errors.Is(err, identity.ErrNoSuchUser):
		return apiErr(CodeNoSuchEntity, err.Error())
	case errors.Is(err, identity.ErrInvalidName):
		return apiErr(CodeInvalidInput, err.Error())
	case errors.Is(err, identity.ErrLocalName):
		return apiErr(CodeAccessDenied, "This name signs in here with a password; an earlier handler's user of that name is not them. Ask an operator.")
	case errors.Is(err, identity.ErrUserExists):
		return apiErr(CodeEntityAlreadyExists, err.Error())
	}
	return apiErr(CodeServiceFailure, "The MFA service could not complete the request; try again.")
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError answers with the JSON error body.
func writeError(w http.ResponseWriter, e *APIError) {
	setRetryAfter(w, e)
	var body errorBody
	body.Error.Code, body.Error.Message = e.Code, e.Message
	writeJSON(w, e.Status(), body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// setRetryAfter tells a throttled client how many whole seconds to wait.
func setRetryAfter(w http.ResponseWriter, e *APIError) {
	if e.Code == CodeThrottled && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
}

// fail answers with err's API error. A failure of the gateway itself (storage, keys) is logged
// here, since the caller only learns that it happened; no secret is ever inside such an error.
func (s *Services) fail(w http.ResponseWriter, err error) {
	ae := toAPIError(err)
	if ae.Code == CodeServiceFailure && s.Log != nil {
		s.Log.Error("request failed", zap.Error(err))
	}
	writeError(w, ae)
}
