package auth

import (
	"context"
	"slices"

	"go.uber.org/zap"

	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/session"
)

// The deprecated SMS factor: off unless the operator configures a webhook, and never for the
// group admins (AWS never offered it to the root user).

const adminsGroup = "admins"

// SMSAllowed refuses SMS codes where they are off, and to administrators.
func (s *Service) SMSAllowed(c *session.Claims) error {
	if s.SMS == nil {
		return NewError(CodeNoSuchEntity, "SMS codes are not enabled on this site.")
	}
	if slices.Contains(c.Groups, adminsGroup) {
		return NewError(CodeAccessDenied, "SMS codes are not allowed for administrators; use an authenticator app or a security key.")
	}
	return nil
}

// CreateSMS adds an SMS device for a caller who may enrol, and sends it its first code.
func (s *Service) CreateSMS(ctx context.Context, c *Caller, name, phone string) (*factors.Device, error) {
	if err := s.SMSAllowed(&c.Claims); err != nil {
		return nil, err
	}
	if err := s.beginEnrolment(ctx, c); err != nil {
		return nil, err
	}
	dev, err := s.SMS.Create(ctx, c.User(), name, phone)
	if err != nil {
		return nil, err
	}
	s.audit("device_created", zap.String("user", c.User()), zap.String("serial", dev.Serial), zap.String("type", dev.Type))
	return dev, nil
}

// SendSMS sends a code to one of the caller's SMS devices; a locked user is told at once.
func (s *Service) SendSMS(ctx context.Context, c *Caller, serial string) error {
	if err := s.SMSAllowed(&c.Claims); err != nil {
		return err
	}
	if err := s.refuseIfLocked(ctx, c.User(), factors.TypeSMS); err != nil {
		return err
	}
	return s.SMS.Send(ctx, c.User(), serial)
}

// checkSMS passes a factor with the code an SMS device was sent.
func (s *Service) checkSMS(ctx context.Context, c *Caller, serial, code string) (*factors.Device, error) {
	if err := s.SMSAllowed(&c.Claims); err != nil {
		return nil, err
	}
	return s.attempt(ctx, c.User(), []string{factors.TypeSMS}, "factor_passed", func() (*factors.Device, error) {
		return s.SMS.Check(ctx, c.User(), serial, code, false)
	})
}

// enableSMS enables an SMS device with the code it was sent, for a caller who may enrol.
func (s *Service) enableSMS(ctx context.Context, c *Caller, serial, code string) (*factors.Device, error) {
	if err := s.SMSAllowed(&c.Claims); err != nil {
		return nil, err
	}
	if err := s.MayEnrol(ctx, c); err != nil {
		return nil, err
	}
	return s.attempt(ctx, c.User(), []string{factors.TypeSMS}, "device_enabled", func() (*factors.Device, error) {
		return s.SMS.Check(ctx, c.User(), serial, code, true)
	})
}

// IsSMSDevice reports whether serial names one of the SMS devices (no error: unknown is no).
func (s *Service) IsSMSDevice(ctx context.Context, serial string) bool {
	if s.SMS == nil || serial == "" {
		return false
	}
	d, err := s.Devices.Get(ctx, serial)
	return err == nil && d.Type == factors.TypeSMS
}
