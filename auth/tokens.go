package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/identity"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/session"
)

// MFA-protected API access: STS GetSessionToken, and the long-term access keys it takes.

// STS's own words, which API consumers' tooling already recognises.
const (
	msgSessionCredentials = "Cannot call GetSessionToken with session credentials"
	msgSerialNotYours     = "MultiFactorAuthentication failed, unable to validate MFA code. Please verify your MFA serial number is valid and associated with this user."
)

// SessionTokenRequest is what a GetSessionToken caller asks for.
type SessionTokenRequest struct {
	Serial, Code    string
	DurationSeconds *int64 // nil: the default lifetime
	Grant                  // the site it is for, and an optional session policy
}

// SessionToken is a minted token and what it carries.
type SessionToken struct {
	Token   string
	Expires time.Time
	MFA     bool
	// Role and RoleSessionName of a role token; "" for others.
	Role, RoleSessionName string
}

// GetSessionToken is STS GetSessionToken: a long-term access key, and optionally a device
// serial and code, buy a short-lived session token that carries the MFA state.
func (s *Service) GetSessionToken(ctx context.Context, c *Caller, req SessionTokenRequest) (*SessionToken, error) {
	if err := SessionTokenCaller(c); err != nil {
		return nil, err
	}
	duration, err := s.tokenLifetime(req.DurationSeconds)
	if err != nil {
		return nil, err
	}
	if req.Serial != "" && req.Code == "" {
		return nil, NewError(CodeValidationError, "code is required with serial.")
	}
	if err := req.Grant.scope(&session.Claims{}); err != nil {
		return nil, err // a bad policy is refused before a code is spent on it
	}
	claims := session.Claims{User: c.User(), Groups: c.Claims.Groups}
	if req.Code != "" {
		dev, err := s.verifyForToken(ctx, c.User(), req.Serial, req.Code)
		if err != nil {
			return nil, err
		}
		claims.MFATime, claims.Method, claims.Serial = s.Now().UTC(), dev.Type, dev.Serial
	}
	return s.mintToken(&claims, req.Grant, TokenKindSession, duration)
}

// SessionTokenCaller refuses callers who may not call GetSessionToken: only a long-term access
// key buys a session token.
func SessionTokenCaller(c *Caller) error {
	switch c.AuthType {
	case policy.AuthAccessKey:
		return nil
	case policy.AuthAnonymous:
		return NewError(CodeAuthRequired, "Call GetSessionToken with an access key (HTTP Basic: access key id and secret).")
	}
	return NewError(CodeAccessDenied, msgSessionCredentials)
}

// tokenLifetime is the lifetime asked for, within the operator's bounds, in STS's words.
func (s *Service) tokenLifetime(seconds *int64) (time.Duration, error) {
	lt := s.Tokens
	if seconds == nil {
		return lt.Default, nil
	}
	duration := time.Duration(*seconds) * time.Second
	if duration >= lt.Min && duration <= lt.Max {
		return duration, nil
	}
	bound, word := lt.Min, "greater"
	if duration > lt.Max {
		bound, word = lt.Max, "less"
	}
	return 0, NewError(CodeValidationError, fmt.Sprintf(
		"1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value %s than or equal to %d",
		*seconds, word, int64(bound/time.Second)))
}

// verifyForToken checks the code of GetSessionToken with STS's answers: a serial that is not one
// of the caller's enabled TOTP devices, and a wrong or reused code, each have their message.
func (s *Service) verifyForToken(ctx context.Context, user, serial, code string) (*factors.Device, error) {
	if serial != "" {
		if err := factors.ValidateSerial(serial); err != nil {
			return nil, NewError(CodeValidationError, err.Error())
		}
		d, err := s.Devices.Get(ctx, serial)
		if errors.Is(err, factors.ErrNoSuchDevice) || (err == nil && (d.User != user || !d.Enabled || !d.IsTOTP())) {
			return nil, NewError(CodeAccessDenied, msgSerialNotYours)
		}
		if err != nil {
			return nil, err
		}
	}
	dev, err := s.verifyTOTP(ctx, user, serial, code)
	if errors.Is(err, factors.ErrInvalidCode) || errors.Is(err, factors.ErrCodeReplayed) {
		return nil, NewError(CodeInvalidAuthCode, MsgBadCode)
	}
	return dev, err
}

// CreateAccessKey makes the caller a long-term access key; it needs a fresh factor from a
// browser sign-in of this site.
func (s *Service) CreateAccessKey(ctx context.Context, c *Caller) (*identity.NewAccessKey, error) {
	if c.AuthType == policy.AuthExternal {
		// An earlier handler's user signs in through that handler; here Authorization belongs
		// to it, and a key would only be good on other sites, where this name was never vouched for.
		return nil, NewError(CodeAccessDenied, "Access keys are for users who sign in here; ask an operator for one.")
	}
	if err := s.freshFactor(c); err != nil {
		return nil, err
	}
	return s.CreateAccessKeyFor(ctx, c.User())
}

// CreateAccessKeyFor makes user a long-term access key (an operator's call) and puts it in this
// node's index at once.
func (s *Service) CreateAccessKeyFor(ctx context.Context, user string) (*identity.NewAccessKey, error) {
	nk, err := s.AccessKeys.Create(ctx, user)
	if err != nil {
		return nil, err
	}
	s.audit("access_key_created", zap.String("user", user), zap.String("access_key_id", nk.Key.ID))
	return nk, s.KeyIndex.Reload(ctx)
}

// DeleteAccessKey removes one of the caller's access keys; it needs a factor.
func (s *Service) DeleteAccessKey(ctx context.Context, c *Caller, id string) (*identity.AccessKey, error) {
	if !c.Claims.MFAPresent() {
		return nil, NewError(CodeMFARequired, "Pass a factor first.")
	}
	k, err := s.AccessKeys.Get(ctx, id)
	if err != nil || k.User != c.User() {
		return nil, NewError(CodeNoSuchEntity, "No such access key of yours.")
	}
	return k, s.deleteAccessKey(ctx, k)
}

// deleteAccessKey removes a key; this node stops accepting it at once, the others at their next reload.
func (s *Service) deleteAccessKey(ctx context.Context, k *identity.AccessKey) error {
	if err := s.AccessKeys.Delete(ctx, k); err != nil {
		return err
	}
	s.audit("access_key_deleted", zap.String("user", k.User), zap.String("access_key_id", k.ID))
	return s.KeyIndex.Reload(ctx)
}
