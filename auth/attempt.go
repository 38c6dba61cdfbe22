package auth

import (
	"context"
	"errors"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/factors/lockout"
)

// The one factor check. Every code or key answer (TOTP, recovery code, SMS, WebAuthn, the pairs
// of enable and resync) goes through attempt: the try is counted against the user's lockout
// BEFORE it is checked, forgiven when it passes, given back when nothing was checked, and
// audited and counted here, under the factor kind of what was tried.

// checked says whether an error is a verdict on the code: the attempt stays counted.
func checked(err error) bool {
	return errors.Is(err, factors.ErrInvalidCode) || errors.Is(err, factors.ErrCodeReplayed) ||
		errors.Is(err, factors.ErrKeyRefused) || errors.Is(err, factors.ErrClonedKey) ||
		errors.Is(err, factors.ErrUserNotVerified)
}

// unchecked says whether an error came before any code was looked at: the attempt is given back.
// Any other error (storage) keeps it counted: it may have come after a check.
func unchecked(err error) bool {
	return errors.Is(err, factors.ErrNoSuchDevice) || errors.Is(err, factors.ErrAlreadyEnabled) ||
		errors.Is(err, factors.ErrNotEnabled) || errors.Is(err, factors.ErrDeviceLimit) ||
		errors.Is(err, factors.ErrNoCeremony) || errors.Is(err, factors.ErrNoSecurityKey) ||
		errors.Is(err, factors.ErrInvalidInput) || errors.Is(err, factors.ErrInUse)
}

// attempt runs check as one factor attempt of user with the factor kinds tried (mfa:Method of
// each device the answer was checked against; a code sent without a serial is checked against
// every TOTP kind the user has). event is audited on success, counted under the kind of the
// device that passed.
func (s *Service) attempt(ctx context.Context, user string, kinds []string, event string, check func() (*factors.Device, error)) (*factors.Device, error) {
	a, err := s.Lockout.Reserve(ctx, user)
	if err != nil {
		return nil, s.lockedOut(err, kinds...)
	}
	dev, err := check()
	switch {
	case err == nil:
		if ferr := a.Forgive(ctx); ferr != nil { // the factor passed; a count left behind only errs on the safe side
			s.Log.Error("clearing the lockout count after a passed factor", zap.String("user", user), zap.Error(ferr))
		}
		method, fields := kinds[0], []zap.Field{zap.String("user", user)}
		if dev != nil {
			method, fields = dev.Type, append(fields, zap.String("serial", dev.Serial))
		}
		s.metrics.Verification(method, OutcomeSuccess)
		s.audit(event, append(fields, zap.String("method", method))...)
	case checked(err):
		s.failedAttempt(user, kinds, a, err)
	case unchecked(err):
		if rerr := a.Release(ctx); rerr != nil {
			s.Log.Error("giving back an unchecked factor attempt", zap.String("user", user), zap.Error(rerr))
		}
		s.noteLock(user, a)
	}
	return dev, err
}

// lockedOut turns a refused reservation into 429 Throttled with Retry-After.
func (s *Service) lockedOut(err error, kinds ...string) error {
	var le *lockout.LockedError
	if !errors.As(err, &le) {
		return err
	}
	for _, k := range kinds {
		s.metrics.Verification(k, OutcomeThrottled)
	}
	return &Error{Code: CodeThrottled, Message: "Too many failed attempts; try again later.", RetryAfter: le.RetryAfter}
}

// failedAttempt audits and counts a code or answer that was checked and refused.
func (s *Service) failedAttempt(user string, kinds []string, a *lockout.Attempt, cause error) {
	outcome := OutcomeInvalid
	if errors.Is(cause, factors.ErrCodeReplayed) {
		outcome = OutcomeReplayed
	}
	method := zap.String("method", strings.Join(kinds, ","))
	s.audit("factor_failed", zap.String("user", user), method)
	if outcome == OutcomeReplayed {
		s.audit("code_replayed", zap.String("user", user), method)
	}
	for _, k := range kinds {
		s.metrics.Verification(k, outcome)
	}
	s.noteLock(user, a)
}

// noteLock audits the lock an attempt started when it did not pass.
func (s *Service) noteLock(user string, a *lockout.Attempt) {
	if d := a.Locked(); d > 0 {
		s.audit("user_locked", zap.String("user", user), zap.Duration("for", d))
		s.metrics.Lockout()
	}
}

// refuseIfLocked is for steps that check nothing but lead to a check (sending an SMS code,
// starting a security key sign-in): a locked user is told at once.
func (s *Service) refuseIfLocked(ctx context.Context, user, kind string) error {
	d, err := s.Lockout.LockedFor(ctx, user)
	if err != nil || d == 0 {
		return err
	}
	return s.lockedOut(&lockout.LockedError{RetryAfter: d}, kind)
}

// totpKinds are the kinds a code for user's TOTP devices is tried as: the type of the device
// named, or of every enabled TOTP device when none is named. A user with no such device tried
// a virtual one, as far as anybody can tell.
func totpKinds(ds []*factors.Device, serial string) []string {
	var kinds []string
	for _, d := range ds {
		if d.Enabled && d.IsTOTP() && (serial == "" || d.Serial == serial) && !slices.Contains(kinds, d.Type) {
			kinds = append(kinds, d.Type)
		}
	}
	if len(kinds) == 0 {
		return []string{factors.TypeVirtual}
	}
	return kinds
}
