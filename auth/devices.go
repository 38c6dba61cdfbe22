package auth

import (
	"context"
	"errors"

	"go.uber.org/zap"

	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/session"
)

// The device lifecycle, as AWS has it: enable with two codes, resync, deactivate, recovery
// codes, and the operator's reset for a lost device.

// EnableDevice enables one of the caller's devices (a virtual one, a hardware token to assign,
// or an SMS device, which proves itself with the one code it was sent). The user's very first
// device passes a factor: passed is set and the returned session carries it; a later one leaves
// the session as it was.
func (s *Service) EnableDevice(ctx context.Context, c *Caller, serial, code1, code2 string) (next session.Claims, passed bool, err error) {
	if err := factors.ValidateSerial(serial); err != nil {
		return session.Claims{}, false, err
	}
	var dev *factors.Device
	if s.IsSMSDevice(ctx, serial) {
		dev, err = s.enableSMS(ctx, c, serial, code1)
	} else {
		dev, err = s.enable(ctx, c, serial, code1, code2)
	}
	if err != nil {
		return session.Claims{}, false, err
	}
	first, err := s.firstEnrolment(ctx, c, dev)
	if err != nil || !first {
		return c.Claims, false, err
	}
	return s.FactorSession(ctx, c, dev), true, nil
}

// EnableFor enables a device for user with two codes (an operator's EnableMFADevice), counting
// the try toward the user's lockout.
func (s *Service) EnableFor(ctx context.Context, user, serial, code1, code2 string) (*factors.Device, error) {
	if code1 == code2 {
		return nil, NewError(CodeInvalidAuthCode, MsgBadDeviceCode)
	}
	return s.enableFor(ctx, user, serial, code1, code2)
}

func (s *Service) enableFor(ctx context.Context, user, serial, code1, code2 string) (*factors.Device, error) {
	return s.withCodes(ctx, user, "device_enabled", serial, func() (*factors.Device, error) {
		return s.Devices.Enable(ctx, user, serial, code1, code2)
	})
}

// Resync finds a device's clock again (ResyncMFADevice). It needs no factor (the device may be
// why the user cannot pass one), but failed pairs count toward the lockout.
func (s *Service) Resync(ctx context.Context, user, serial, code1, code2 string) (*factors.Device, error) {
	if err := factors.ValidateSerial(serial); err != nil {
		return nil, err
	}
	if code1 == code2 {
		return nil, NewError(CodeInvalidAuthCode, MsgBadDeviceCode)
	}
	return s.withCodes(ctx, user, "device_resynced", serial, func() (*factors.Device, error) {
		return s.Devices.Resync(ctx, user, serial, code1, code2)
	})
}

// withCodes runs a two-code device change as one factor attempt; a wrong pair answers with
// EnableMFADevice's own message.
func (s *Service) withCodes(ctx context.Context, user, event, serial string, change func() (*factors.Device, error)) (*factors.Device, error) {
	kind := factors.TypeVirtual
	if d, err := s.Devices.Get(ctx, serial); err == nil {
		kind = d.Type
	}
	dev, err := s.attempt(ctx, user, []string{kind}, event, change)
	if errors.Is(err, factors.ErrInvalidCode) {
		return nil, NewError(CodeInvalidAuthCode, MsgBadDeviceCode)
	}
	return dev, err
}

// Deactivate is DeactivateMFADevice for the caller: it needs a factor passed within the last
// hour, and voids every session and token of the user (the rooms sign the caller's own browser
// again, with AfterRevocation, so the user is not thrown out for tidying up).
func (s *Service) Deactivate(ctx context.Context, c *Caller, serial string) error {
	if err := factors.ValidateSerial(serial); err != nil {
		return err
	}
	if err := s.requireFactor(c, DeactivateWithin, func(window string) string {
		return "Pass a factor first: removing a device needs one from the last " + window + "."
	}); err != nil {
		return err
	}
	return s.DeactivateFor(ctx, c.User(), serial)
}

// DeactivateFor takes a device from its user and voids the user's sessions and tokens: whoever
// held a session made with that device holds nothing now. Remembered browsers go too: each
// stands for a factor passed with one of the devices.
func (s *Service) DeactivateFor(ctx context.Context, user, serial string) error {
	if _, err := s.Devices.Deactivate(ctx, user, serial); err != nil {
		return err
	}
	s.audit("device_deactivated", zap.String("user", user), zap.String("serial", serial))
	if err := s.Revocations.RevokeUser(ctx, user); err != nil {
		return err
	}
	return s.forgetBrowsers(ctx, user)
}

// NewRecoveryCodes issues ten codes, voiding the old ones; it needs a fresh factor.
func (s *Service) NewRecoveryCodes(ctx context.Context, c *Caller) ([]string, error) {
	if err := s.freshFactor(c); err != nil {
		return nil, err
	}
	codes, err := s.Recovery.Generate(ctx, c.User())
	if err == nil {
		s.audit("recovery_codes_issued", zap.String("user", c.User()))
	}
	return codes, err
}

// Reset is the operator's answer to a lost device: every device deactivated, recovery codes
// voided, remembered browsers forgotten, sessions and tokens revoked. The user enrols again at the next sign-in.
func (s *Service) Reset(ctx context.Context, user string) error {
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
	if err := s.forgetBrowsers(ctx, user); err != nil {
		return err
	}
	if err := s.Lockout.Clear(ctx, user); err != nil {
		return err
	}
	s.audit("user_reset", zap.String("user", user), zap.Int("devices", len(ds)))
	return nil
}
