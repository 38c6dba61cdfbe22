package auth

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/identity"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/session"
)

// SignIn checks a password from addr and starts a session, saying whether the user has a device
// to pass a factor with. A user without one, where the operator requires one, gets an
// enrolment-only session. The per-account attempt is taken before the password is checked (so
// attempts sent at once cannot all slip through), and given back when it was right.
func (s *Service) SignIn(ctx context.Context, name, password string, addr netip.Addr) (c session.Claims, hasDevice bool, err error) {
	attempt, wait := s.accounts.Take(name, addr)
	if attempt == nil {
		return c, false, &Error{Code: CodeThrottled, Message: "Too many sign-in attempts for this account; try again later.", RetryAfter: wait}
	}
	u, err := s.Users.Authenticate(ctx, name, password)
	if err != nil {
		if errors.Is(err, identity.ErrBadCredentials) {
			s.audit("login_failed")
		}
		return c, false, err
	}
	attempt.Succeeded()
	if hasDevice, err = s.Devices.HasEnabled(ctx, u.Name); err != nil {
		return c, false, err
	}
	c = s.Cookies.Start(u.Name)
	c.Groups = u.Groups
	c.Enrolling = s.EnrollmentRequired && !hasDevice
	s.audit("login", zap.String("user", u.Name))
	return c, hasDevice, nil
}

// AllowAttempt takes one password or factor attempt for addr from the per-address throttle,
// or says how long to wait for the next.
func (s *Service) AllowAttempt(addr netip.Addr) (bool, time.Duration) { return s.throttle.Allow(addr) }

// ExternalSession is the session of a user an earlier handler signed in, before any factor
// here. It creates no record: that waits for enrolment.
func (s *Service) ExternalSession(ctx context.Context, user string) (session.Claims, error) {
	claims := s.Cookies.Start(user)
	claims.External = true
	u, err := s.Users.LookupExternal(ctx, user)
	if err != nil {
		return session.Claims{}, err
	}
	claims.Groups = u.Groups
	return claims, nil
}

// FactorSession is the session that follows a factor passed with dev (nil for a recovery code):
// a new session id (the privilege changed, so an id seen before it is worth nothing after) and
// the MFA time, method and serial, with what a security key showed of itself. The sign-in id
// stays: sign-out ends the cookies before and after the factor alike. An earlier handler's user
// passing a first factor here starts a session.
func (s *Service) FactorSession(ctx context.Context, c *Caller, dev *factors.Device) session.Claims {
	base := c.Claims
	if !c.FromCookie {
		base = s.Cookies.Start(c.User())
		base.External = true
		if u, err := s.Users.EnsureExternal(ctx, c.User()); err == nil {
			base.Groups = u.Groups
		}
	}
	now := s.Now().UTC()
	base.SessionID = session.NewSessionID()
	base.Issued, base.MFATime, base.Enrolling = now, now, false
	base.Method, base.Serial = policy.MethodRecovery, ""
	base.UserVerified, base.BackupEligible, base.AAGUID = false, false, ""
	if dev != nil {
		base.Method, base.Serial = dev.Type, dev.Serial
		if dev.Type == factors.TypeWebAuthn {
			base.UserVerified, base.BackupEligible, base.AAGUID = dev.Key.UserVerified, dev.Key.BackupEligible, dev.Key.AAGUID
		}
	}
	return base
}

// AfterRevocation is claims again, issued after a revocation of the user just made, so that the
// browser that made it is not signed out with the rest.
func (s *Service) AfterRevocation(claims session.Claims) session.Claims {
	claims.Issued = s.Now().Add(time.Millisecond).UTC()
	claims.SessionID = session.NewSessionID()
	return claims
}

// SignOut voids the sign-in everywhere (the cookie alone could be replayed): every cookie
// issued for it, before or after a factor, until its absolute end however often it was used.
func (s *Service) SignOut(ctx context.Context, c *Caller) error {
	if !c.FromCookie {
		return NewError(CodeInvalidInput, "Only browser sessions sign out; session tokens expire.")
	}
	if err := s.Revocations.RevokeSignIn(ctx, c.Claims.SignInID, s.Cookies.SignInEnds(&c.Claims)); err != nil {
		return fmt.Errorf("sign-out: %w", err)
	}
	s.audit("logout", zap.String("user", c.User()))
	if err := s.signIns.Forget(ctx, c.User(), c.Claims.SignInID); err != nil {
		s.Log.Error("forgetting a signed-out sign-in", zap.String("user", c.User()), zap.Error(err))
	}
	return nil
}

// VerifyToken checks a Bearer token, through the cache when there is one. The token inside a
// session cookie is refused: a cookie read out of a browser or a log is no API credential.
func (s *Service) VerifyToken(token string) (c session.Claims, err error) {
	if s.TokenCache != nil {
		c, err = s.TokenCache.Verify(token, s.Now())
	} else {
		c, err = s.Ring.Verify(token, s.Now())
	}
	if err == nil && c.Browser {
		return session.Claims{}, errCookieAsToken
	}
	return c, err
}

var errCookieAsToken = errors.New("a session cookie's token is not a Bearer token")
