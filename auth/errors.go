package auth

import (
	"errors"
	"strings"
	"time"

	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/identity"
	"github.com/caddy-mfa/caddy-mfa/session"
)

// Error codes of SPEC's error bodies (section 5). The rooms above map each to its HTTP status.
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

// Error is a refusal meant for the caller: a code, a message, and for Throttled how long to wait.
type Error struct {
	Code       string
	Message    string
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// NewError is a refusal with code and message.
func NewError(code, message string) *Error { return &Error{Code: code, Message: message} }

// Messages shared by every path that refuses a code, so that no answer tells one cause from another.
const (
	MsgBadCredentials = "The user name or password is incorrect."
	MsgBadCode        = "MultiFactorAuthentication failed with invalid MFA one time pass code."
	MsgBadDeviceCode  = "Authentication code for device is not valid."
)

// AsError maps the errors of the packages below to SPEC's codes. Anything unknown is a failure
// of the gateway itself: the caller learns only that.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if e := factorError(err); e != nil {
		return e
	}
	if e := identityError(err); e != nil {
		return e
	}
	return NewError(CodeServiceFailure, "The MFA service could not complete the request; try again.")
}

func factorError(err error) *Error {
	switch {
	case errors.Is(err, factors.ErrInvalidInput), errors.Is(err, factors.ErrNoCeremony):
		return NewError(CodeInvalidInput, err.Error())
	case errors.Is(err, factors.ErrNoSuchDevice):
		return NewError(CodeNoSuchEntity, "The MFA device does not exist or is not yours.")
	case errors.Is(err, factors.ErrDeviceExists), errors.Is(err, factors.ErrAlreadyEnabled):
		return NewError(CodeEntityAlreadyExists, err.Error())
	case errors.Is(err, factors.ErrInUse):
		return NewError(CodeEntityAlreadyExists, "MFA device is already in use.")
	case errors.Is(err, factors.ErrKeyNotAllowed):
		return NewError(CodeAccessDenied, "This security key cannot be registered: "+strings.TrimPrefix(err.Error(), factors.ErrKeyNotAllowed.Error()+": ")+".")
	case errors.Is(err, factors.ErrUserNotVerified):
		return NewError(CodeInvalidAuthCode, "Your passkey did not check it is you (no PIN, fingerprint or face): signing in with a passkey alone needs that. Use your password instead, or set up a PIN on the key.")
	case errors.Is(err, factors.ErrKeyRefused), errors.Is(err, factors.ErrClonedKey):
		return NewError(CodeInvalidAuthCode, "The security key's answer was refused.")
	case errors.Is(err, factors.ErrNoSecurityKey):
		return NewError(CodeNoSuchEntity, err.Error())
	case errors.Is(err, factors.ErrSMSTooSoon):
		return &Error{Code: CodeThrottled, Message: err.Error(), RetryAfter: factors.SMSResendAfter}
	case errors.Is(err, factors.ErrAssigned):
		return NewError(CodeDeleteConflict, err.Error())
	case errors.Is(err, factors.ErrNotEnabled):
		return NewError(CodeInvalidAuthCode, MsgBadDeviceCode)
	case errors.Is(err, factors.ErrDeviceLimit):
		return NewError(CodeLimitExceeded, err.Error())
	case errors.Is(err, factors.ErrInvalidCode), errors.Is(err, factors.ErrCodeReplayed):
		return NewError(CodeInvalidAuthCode, MsgBadCode)
	case errors.Is(err, session.ErrNotRemembered):
		return NewError(CodeNoSuchEntity, "No such remembered browser of yours (it may have expired).")
	}
	return nil
}

func identityError(err error) *Error {
	switch {
	case errors.Is(err, identity.ErrBadCredentials):
		return NewError(CodeAuthRequired, MsgBadCredentials)
	case errors.Is(err, identity.ErrAccessKeyLimit):
		return NewError(CodeLimitExceeded, err.Error())
	case errors.Is(err, identity.ErrNoSuchAccessKey), errors.Is(err, identity.ErrNoSuchUser):
		return NewError(CodeNoSuchEntity, err.Error())
	case errors.Is(err, identity.ErrInvalidName):
		return NewError(CodeInvalidInput, err.Error())
	case errors.Is(err, identity.ErrLocalName):
		return NewError(CodeAccessDenied, "This name signs in here with a password; an earlier handler's user of that name is not them. Ask an operator.")
	case errors.Is(err, identity.ErrUserExists):
		return NewError(CodeEntityAlreadyExists, err.Error())
	}
	return nil
}
