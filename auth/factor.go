package auth

import (
	"context"

	"go.uber.org/zap"

	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/session"
)

// PassCode checks a TOTP, SMS or recovery code for a browser session and returns the session
// that carries the factor when it passes.
func (s *Service) PassCode(ctx context.Context, c *Caller, serial, code string) (session.Claims, error) {
	if code == "" {
		return session.Claims{}, NewError(CodeInvalidInput, "code is required.")
	}
	if s.IsSMSDevice(ctx, serial) {
		dev, err := s.checkSMS(ctx, c, serial, code)
		if err != nil {
			return session.Claims{}, err
		}
		return s.FactorSession(ctx, c, dev), nil
	}
	if factors.LooksLikeRecoveryCode(code) {
		if err := s.useRecoveryCode(ctx, c.User(), code); err != nil {
			return session.Claims{}, err
		}
		return s.FactorSession(ctx, c, nil), nil
	}
	if serial != "" {
		if err := factors.ValidateSerial(serial); err != nil {
			return session.Claims{}, err
		}
	}
	dev, err := s.verifyTOTP(ctx, c.User(), serial, code)
	if err != nil {
		return session.Claims{}, err
	}
	return s.FactorSession(ctx, c, dev), nil
}

// verifyTOTP passes a factor with a code from one of the user's TOTP devices.
func (s *Service) verifyTOTP(ctx context.Context, user, serial, code string) (*factors.Device, error) {
	ds, err := s.Devices.ForUser(ctx, user)
	if err != nil {
		return nil, err
	}
	return s.attempt(ctx, user, totpKinds(ds, serial), "factor_passed", func() (*factors.Device, error) {
		return s.Devices.VerifyAmong(ctx, user, ds, serial, code)
	})
}

// useRecoveryCode passes a factor with one of the user's recovery codes, spending it.
func (s *Service) useRecoveryCode(ctx context.Context, user, code string) error {
	_, err := s.attempt(ctx, user, []string{policy.MethodRecovery}, "factor_passed", func() (*factors.Device, error) {
		return nil, s.Recovery.Use(ctx, user, code)
	})
	if err == nil {
		s.audit("recovery_code_used", zap.String("user", user))
	}
	return err
}
