package gateway

import (
	"context"
	"errors"
	"slices"

	"go.uber.org/zap"

	"github.com/caddy-mfa/caddy-mfa/factors"
)

// The one factor check. Every code or key answer (TOTP, recovery code, SMS, WebAuthn, the pairs
// of enable and resync) goes through attempt: the try is counted against the user's lockout
// BEFORE it is checked, forgiven when it passes, given back when nothing was checked, and
// audited and counted here, with the method of the device that was tried.

// checked says whether an error is a verdict on the code: the attempt stays counted.
func checked(err error) bool {
	return errors.Is(err, factors.ErrInvalidCode) || errors.Is(err, factors.ErrCodeReplayed) ||
		errors.Is(err, factors.ErrKeyRefused) || errors.Is(err, factors.ErrClonedKey)
}

// unchecked says whether an error came before any code was looked at: the attempt is given back.
// Any other error (storage) keeps it counted: it may have come after a check.
func unchecked(err error) bool {
	return errors.Is(err, factors.ErrNoSuchDevice) || errors.Is(err, factors.ErrAlreadyEnabled) ||
		errors.Is(err, factors.ErrNotEnabled) || errors.Is(err, factors.ErrDeviceLimit) ||
		errors.Is(err, factors.ErrNoCeremony) || errors.Is(err, factors.ErrNoSecurityKey) ||
		errors.Is(err, factors.ErrInvalidInput)
}

// attempt runs check as one factor attempt of user with method (mfa:Method of what is tried;
// the device check returns names it when it passes). event is audited on success.
func (s *Services) attempt(ctx context.Context, user, method, event string, check func() (*factors.Device, error)) (*factors.Device, error) {
	a, err := s.Lockout.Reserve(ctx, user)
	if err != nil {
		return nil, s.lockedOut(err, method)
	}
	dev, err := check()
	switch {
	case err == nil:
		if ferr := a.Forgive(ctx); ferr != nil { // the factor passed; a count left behind only errs on the safe side
			s.Log.Error("clearing the lockout count after a passed factor", zap.String("user", user), zap.Error(ferr))
		}
		fields := []zap.Field{zap.String("user", user), zap.String("method", method)}
		if dev != nil {
			method = dev.Type
			fields = []zap.Field{zap.String("user", user), zap.String("method", method), zap.String("serial", dev.Serial)}
		}
		s.metrics().Verification(method, "passed")
		s.audit(event, fields...)
	case checked(err):
		s.failedAttempt(user, method, a, err)
	case unchecked(err):
		if rerr := a.Release(ctx); rerr != nil {
			s.Log.Error("giving back an unchecked factor attempt", zap.String("user", user), zap.Error(rerr))
		}
		s.noteLock(user, a)
	}
	return dev, err
}

// lockedOut turns a refused reservation into 429 Throttled with Retry-After.
func (s *Services) lockedOut(err error, method string) error {
	var le *factors.LockedError
	if !errors.As(err, &le) {
		return err
	}
	s.metrics().Verification(method, "throttled")
	return &APIError{Code: CodeThrottled, Message: "Too many failed attempts; try again later.", RetryAfter: le.RetryAfter}
}

// failedAttempt audits and counts a code or answer that was checked and refused.
func (s *Services) failedAttempt(user, method string, a *factors.Attempt, cause error) {
	s.audit("factor_failed", zap.String("user", user), zap.String("method", method))
	outcome := "failed"
	if errors.Is(cause, factors.ErrCodeReplayed) {
		s.audit("code_replayed", zap.String("user", user), zap.String("method", method))
		outcome = "replayed"
	}
	s.metrics().Verification(method, outcome)
	s.noteLock(user, a)
}

// noteLock audits the lock an attempt started when it did not pass.
func (s *Services) noteLock(user string, a *factors.Attempt) {
	if d := a.Locked(); d > 0 {
		s.audit("user_locked", zap.String("user", user), zap.Duration("for", d))
		s.metrics().Lockout()
	}
}

// refuseIfLocked is for steps that check nothing but lead to a check (sending an SMS code,
// starting a security key sign-in): a locked user is told at once.
func (s *Services) refuseIfLocked(ctx context.Context, user, method string) error {
	d, err := s.Lockout.LockedFor(ctx, user)
	if err != nil || d == 0 {
		return err
	}
	return s.lockedOut(&factors.LockedError{RetryAfter: d}, method)
}

// totpMethod is the method a code for user's TOTP devices is tried as: the type of the device
// named, or of every enabled TOTP device when they are all of one type. A code sent without a
// serial to a user with both virtual and hardware devices (or with none) is "totp": no single
// method was tried.
func (s *Services) totpMethod(ctx context.Context, user, serial string) (string, error) {
	ds, err := s.Devices.ForUser(ctx, user)
	if err != nil {
		return "", err
	}
	var types []string
	for _, d := range ds {
		if d.Enabled && d.IsTOTP() && (serial == "" || d.Serial == serial) && !slices.Contains(types, d.Type) {
			types = append(types, d.Type)
		}
	}
	if len(types) == 1 {
		return types[0], nil
	}
	return "totp", nil
}
