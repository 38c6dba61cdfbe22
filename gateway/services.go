package gateway

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

// Services is what every gate and site shares: the records, the keys and the clock. The Caddy
// app builds one and hands it to each handler.
type Services struct {
	Users      *identity.Directory
	AccessKeys *identity.AccessKeys
	KeyIndex   *identity.KeyIndex
	Devices    *factors.Devices
	Recovery   *factors.RecoveryCodes
	SMS        *factors.SMS      // nil: the SMS factor is off
	WebAuthn   *factors.WebAuthn // nil: security keys are off
	// WebAuthnSite is the relying party; its zero value derives it from each request's site.
	WebAuthnSite WebAuthnSite
	Lockout      *factors.Lockout
	Ring         *session.KeyRing
	TokenCache   *session.TokenCache // verified Bearer tokens; nil: verify every time
	Cookies      *session.Cookies
	Revocations  *session.Revocations
	Now          func() time.Time

	Issuer             string
	EnrollmentRequired bool
	Tokens             TokenLifetimes

	// Audit records a security event (SPEC section 9). Fields never hold a secret or a code.
	// Throttle limits password and factor attempts per source address; nil: no limit.
	Throttle *Throttle
	// Accounts limits password attempts per account, from any address; nil: no limit.
	Accounts *AccountThrottle

	Audit   func(event string, fields ...zap.Field)
	Metrics Metrics // nil: not counted
	Log     *zap.Logger
}

// TokenLifetimes bound what GetSessionToken callers may ask for, as STS does.
type TokenLifetimes struct {
	Default, Min, Max time.Duration
}

// FreshMFA is how recent a factor must be for the calls that hand out long-term credentials
// (access keys, recovery codes).
const FreshMFA = 15 * time.Minute

func (s *Services) audit(event string, fields ...zap.Field) {
	if s.Audit != nil {
		s.Audit(event, fields...)
	}
}

// signIn checks a password and starts a session, saying whether the user has a device to pass
// a factor with. A user without one, where the operator requires one, gets an enrolment-only
// session.
func (s *Services) signIn(ctx context.Context, name, password string) (c session.Claims, hasDevice bool, err error) {
	u, err := s.Users.Authenticate(ctx, name, password)
	if err != nil {
		if errors.Is(err, identity.ErrBadCredentials) {
			s.audit("login_failed")
		}
		return c, false, err
	}
	if hasDevice, err = s.Devices.HasEnabled(ctx, u.Name); err != nil {
		return c, false, err
	}
	c = s.Cookies.Start(u.Name)
	c.Groups = u.Groups
	c.Enrolling = s.EnrollmentRequired && !hasDevice
	s.audit("login", zap.String("user", u.Name))
	return c, hasDevice, nil
}

// verifyTOTP passes a factor with a code from one of the user's TOTP devices.
func (s *Services) verifyTOTP(ctx context.Context, user, serial, code string) (*factors.Device, error) {
	method, err := s.totpMethod(ctx, user, serial)
	if err != nil {
		return nil, err
	}
	return s.attempt(ctx, user, method, "factor_passed", func() (*factors.Device, error) {
		return s.Devices.Verify(ctx, user, serial, code)
	})
}

// useRecoveryCode passes a factor with one of the user's recovery codes, spending it.
func (s *Services) useRecoveryCode(ctx context.Context, user, code string) error {
	_, err := s.attempt(ctx, user, policy.MethodRecovery, "factor_passed", func() (*factors.Device, error) {
		return nil, s.Recovery.Use(ctx, user, code)
	})
	if err == nil {
		s.audit("recovery_code_used", zap.String("user", user))
	}
	return err
}

// enableFor enables a device for user with two codes, counting the try toward the lockout.
func (s *Services) enableFor(ctx context.Context, user, serial, code1, code2 string) (*factors.Device, error) {
	return s.withCodes(ctx, user, "device_enabled", serial, func() (*factors.Device, error) {
		return s.Devices.Enable(ctx, user, serial, code1, code2)
	})
}

// resync finds a device's clock again (ResyncMFADevice).
func (s *Services) resync(ctx context.Context, user, serial, code1, code2 string) (*factors.Device, error) {
	return s.withCodes(ctx, user, "device_resynced", serial, func() (*factors.Device, error) {
		return s.Devices.Resync(ctx, user, serial, code1, code2)
	})
}

// withCodes runs a two-code device change as one factor attempt; a wrong pair answers with
// EnableMFADevice's own message.
func (s *Services) withCodes(ctx context.Context, user, event, serial string, change func() (*factors.Device, error)) (*factors.Device, error) {
	method := factors.TypeVirtual
	if d, err := s.Devices.Get(ctx, serial); err == nil {
		method = d.Type
	}
	dev, err := s.attempt(ctx, user, method, event, change)
	if errors.Is(err, factors.ErrInvalidCode) {
		return nil, apiErr(CodeInvalidAuthCode, msgBadDeviceCode)
	}
	return dev, err
}

// deactivate takes a device from its user and voids the user's sessions and tokens: whoever
// held a session made with that device holds nothing now.
func (s *Services) deactivate(ctx context.Context, user, serial string) error {
	if _, err := s.Devices.Deactivate(ctx, user, serial); err != nil {
		return err
	}
	s.audit("device_deactivated", zap.String("user", user), zap.String("serial", serial))
	return s.Revocations.RevokeUser(ctx, user)
}

// reset is the operator's answer to a lost device: every device deactivated, recovery codes
// voided, sessions and tokens revoked. The user enrols again at the next sign-in.
func (s *Services) reset(ctx context.Context, user string) error {
	if _, err := s.Users.Get(ctx, user); err != nil {
		return err
	}
	if err := s.Revocations.RevokeUser(ctx, user); err != nil {
		return err
	}
	ds, err := s.Devices.ForUser(ctx, user)
	if err != nil {
		return err
	}
	for _, d := range ds {
		if _, err := s.Devices.Deactivate(ctx, user, d.Serial); err != nil && !errors.Is(err, factors.ErrNoSuchDevice) {
			return err
		}
	}
	if err := s.Recovery.Void(ctx, user); err != nil {
		return err
	}
	if err := s.Lockout.Clear(ctx, user); err != nil {
		return err
	}
	s.audit("user_reset", zap.String("user", user), zap.Int("devices", len(ds)))
	return nil
}

// withFactor is the session after passing a factor with dev: a new session id (the privilege
// changed, so an id seen before it is worth nothing after) and the MFA time, method and serial.
// The sign-in id stays: sign-out ends the cookies before and after the factor alike.
func (s *Services) withFactor(c session.Claims, method, serial string) session.Claims {
	now := s.Now().UTC()
	c.SessionID = session.NewSessionID()
	c.Issued, c.MFATime, c.Method, c.Serial, c.Enrolling = now, now, method, serial, false
	return c
}

// signOut voids the sign-in everywhere (the cookie alone could be replayed): every cookie
// issued for it, before or after a factor, until its absolute end however often it was used.
func (s *Services) signOut(ctx context.Context, c *session.Claims) error {
	if err := s.Revocations.RevokeSignIn(ctx, c.SignInID, s.Cookies.SignInEnds(c)); err != nil {
		return fmt.Errorf("sign-out: %w", err)
	}
	s.audit("logout", zap.String("user", c.User))
	return nil
}

// createAccessKey makes a long-term access key and puts it in this node's index at once.
func (s *Services) createAccessKey(ctx context.Context, user string) (*identity.NewAccessKey, error) {
	nk, err := s.AccessKeys.Create(ctx, user)
	if err != nil {
		return nil, err
	}
	s.audit("access_key_created", zap.String("user", user), zap.String("access_key_id", nk.Key.ID))
	return nk, s.KeyIndex.Reload(ctx)
}

// deleteAccessKey removes a key; this node stops accepting it at once, the others at their next reload.
func (s *Services) deleteAccessKey(ctx context.Context, k *identity.AccessKey) error {
	if err := s.AccessKeys.Delete(ctx, k); err != nil {
		return err
	}
	s.audit("access_key_deleted", zap.String("user", k.User), zap.String("access_key_id", k.ID))
	return s.KeyIndex.Reload(ctx)
}

// verifyToken checks a Bearer token, through the cache when there is one. The token inside a
// session cookie is refused: a cookie read out of a browser or a log is no API credential.
func (s *Services) verifyToken(token string) (c session.Claims, err error) {
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
