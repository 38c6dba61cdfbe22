package auth

import (
	"context"
	"errors"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/session"
)

// Remembered browsers (issue 15, outcome 3): after a real factor the user may ask a site to
// remember the browser; a later password sign-in from it then carries a factor of method
// remembered, without a code. The password is always checked; the record is read from the
// store at each sign-in, so forgetting a browser holds on every node at once.

// MaxRememberFor is the longest a handler may remember a browser.
const MaxRememberFor = 90 * 24 * time.Hour

// RememberedCredential is what a browser brings to a password sign-in on a site that
// remembers browsers.
type RememberedCredential struct {
	Value  string        // the remember cookie's; "" for none
	For    time.Duration // how long this site honours one; zero: it does not
	Client Client
}

// SignInRemembered is SignIn for a browser that may be remembered: when the password is right,
// the user has a device, is not locked out, and the credential names a live record of theirs,
// the session carries a factor of method remembered. Any other credential is ignored: the
// sign-in is a password sign-in, and the verify page follows as usual. The browser's address
// (rc.Client) is the one the per-account throttle counts.
func (s *Service) SignInRemembered(ctx context.Context, name, password string, rc RememberedCredential) (session.Claims, bool, error) {
	c, hasDevice, err := s.SignIn(ctx, name, password, rc.Client.Addr)
	if err != nil || !hasDevice || rc.For <= 0 || rc.Value == "" {
		return c, hasDevice, err
	}
	if s.usedRemembered(ctx, c.User, rc) {
		now := s.Now().UTC()
		c.MFATime, c.Method, c.Serial = now, policy.MethodRemembered, ""
	}
	return c, hasDevice, nil
}

// usedRemembered checks rc for user and says whether it passes. A lock on the user's factors
// stops it too: it stands for a factor. A credential of the user's that does not match is
// audited as a failed factor (someone altered or made up a cookie) but not counted toward the
// lockout: no guess of a 256-bit secret is worth counting, and the user's own sign-in must not
// be locked by it.
func (s *Service) usedRemembered(ctx context.Context, user string, rc RememberedCredential) bool {
	if d, err := s.Lockout.LockedFor(ctx, user); err != nil || d > 0 {
		return false
	}
	rec, err := s.Remembered.Use(ctx, user, rc.Value, rc.For, rc.Client.address(), rc.Client.UserAgent)
	switch {
	case errors.Is(err, session.ErrRememberedMismatch):
		s.audit("factor_failed", zap.String("user", user), zap.String("method", policy.MethodRemembered))
		s.metrics.Verification(policy.MethodRemembered, OutcomeInvalid)
		return false
	case errors.Is(err, session.ErrNotRemembered):
		return false
	case err != nil:
		s.Log.Error("reading a remembered browser", zap.String("user", user), zap.Error(err))
		return false
	case s.Revocations.Revoked(&session.Claims{User: user, Issued: rec.Created}):
		// Remembered before a revocation of the user whose forgetting did not reach the store
		// (it raced the remembering, or failed): void all the same.
		_ = s.Remembered.Forget(ctx, user, rec.ID)
		return false
	}
	s.metrics.Verification(policy.MethodRemembered, OutcomeSuccess)
	s.audit("factor_passed", zap.String("user", user), zap.String("method", policy.MethodRemembered))
	return true
}

// RememberBrowser makes a remembered-browser credential for the session of claims, which must
// have just passed a real factor in a browser; d is how long the site remembers. A remembered
// sign-in makes no new credential: only a factor the user passed here extends the trust.
func (s *Service) RememberBrowser(ctx context.Context, claims session.Claims, d time.Duration, client Client) (string, error) {
	switch {
	case d <= 0:
		return "", NewError(CodeInvalidInput, "remember: this site does not remember browsers.")
	case claims.External:
		return "", NewError(CodeInvalidInput, "remember: browsers are remembered only for a password sign-in here.")
	case !claims.MFAPresent() || !slices.Contains(policy.Methods, claims.Method):
		return "", NewError(CodeInvalidInput, "remember: pass a factor first.")
	}
	cred, _, err := s.Remembered.Remember(ctx, claims.User, min(d, MaxRememberFor), client.address(), client.UserAgent)
	if err != nil {
		return "", err
	}
	s.audit("browser_remembered", zap.String("user", claims.User), zap.String("method", claims.Method), zap.Duration("for", d))
	return cred, nil
}

// RememberedBrowsers are user's remembered browsers that still pass, most recently used first.
func (s *Service) RememberedBrowsers(ctx context.Context, user string) ([]*session.RememberedBrowser, error) {
	all, err := s.Remembered.List(ctx, user)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, rec := range all {
		if !s.Revocations.Revoked(&session.Claims{User: user, Issued: rec.Created}) {
			out = append(out, rec)
		}
	}
	return out, nil
}

// ForgetBrowser forgets one of the caller's remembered browsers, on every node. Like ending a
// sign-in it takes a browser session: a stolen token must not change how the user signs in.
func (s *Service) ForgetBrowser(ctx context.Context, c *Caller, id string) error {
	if err := fromBrowser(c); err != nil {
		return err
	}
	err := s.Remembered.Forget(ctx, c.User(), id) // ErrNotRemembered: NoSuchEntity (factorError)
	if err == nil {
		s.audit("browser_forgotten", zap.String("user", c.User()))
	}
	return err
}

// forgetBrowsers forgets every remembered browser of user: a reset, a deactivated device,
// revoke-sessions and a deleted user end them with the sessions.
func (s *Service) forgetBrowsers(ctx context.Context, user string) error {
	n, err := s.Remembered.ForgetAll(ctx, user)
	if err == nil && n > 0 {
		s.audit("browsers_forgotten", zap.String("user", user), zap.Int("count", n))
	}
	return err
}
