package auth

import (
	"context"
	"errors"

	"go.uber.org/zap"

	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/identity"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/session"
)

// Passwordless sign-in: a passkey that verified its user stands for the password and the
// factor at once. The ceremony names no user; the passkey says whose it is, and the one factor
// check (lockout, audit, count) runs for that user once it is known.

var errNoPasswordless = NewError(CodeNoSuchEntity, "Signing in with a passkey alone is not enabled on this site.")

// Passwordless reports whether users may sign in with a passkey alone.
func (s *Service) Passwordless() bool { return s.passwordless }

// BeginPasskeySignIn starts a passwordless sign-in for the site at rp.
func (s *Service) BeginPasskeySignIn(ctx context.Context, rp factors.RelyingParty) (any, error) {
	if !s.passwordless {
		return nil, errNoPasswordless
	}
	if err := KeysUnusable(rp); err != nil {
		return nil, err
	}
	return s.WebAuthn.BeginPasskeyLogin(ctx, rp)
}

// FinishPasskeySignIn checks the browser's answer and, when one of the user's passkeys verified
// the user, returns a new sign-in's session that carries the factor.
func (s *Service) FinishPasskeySignIn(ctx context.Context, answer []byte) (session.Claims, error) {
	if !s.passwordless {
		return session.Claims{}, errNoPasswordless
	}
	a, err := factors.ParsePasskeyAnswer(answer)
	if err != nil {
		return session.Claims{}, err
	}
	u, err := s.Users.ByHandle(ctx, a.UserHandle())
	if errors.Is(err, identity.ErrNoSuchUser) || (err == nil && u.PasswordHash == "") {
		// The same answer as a key that does not verify. A user with no password here is an
		// earlier handler's (or one an operator keeps from signing in): a passkey stands in for
		// a password sign-in, so it signs in only those who have one.
		return session.Claims{}, factors.ErrKeyRefused
	}
	if err != nil {
		return session.Claims{}, err
	}
	dev, err := s.attempt(ctx, u.Name, []string{factors.TypeWebAuthn}, "factor_passed", func() (*factors.Device, error) {
		dev, err := s.WebAuthn.FinishPasskeyLogin(ctx, a, u.Name, u.Handle)
		s.noteClone(u.Name, err)
		return dev, err
	})
	if err != nil {
		return session.Claims{}, err
	}
	c := s.Cookies.Start(u.Name)
	c.Groups = u.Groups
	s.audit("login", zap.String("user", u.Name), zap.String("with", "passkey"))
	return s.FactorSession(ctx, &Caller{AuthType: policy.AuthSession, Claims: c, FromCookie: true}, dev), nil
}

// noteClone logs and audits a key whose counter went backwards.
func (s *Service) noteClone(user string, err error) {
	if errors.Is(err, factors.ErrClonedKey) {
		s.Log.Warn("security key counter went backwards: the key may be cloned", zap.String("user", user), zap.Error(err))
		s.audit("webauthn_clone_detected", zap.String("user", user))
	}
}
