package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/policy"
)

// Who may add an MFA device, and when enabling one passes a factor. A new device proves that its
// holder holds it, not that they hold the account: so adding one to an account that has devices
// takes a fresh factor from one of them, and only the account's very first device (enrolment)
// passes a factor. Otherwise a stolen cookie with an old factor would enrol the thief's device
// and come out with a fresh one.

// errEnrolFromBrowser refuses access keys and session tokens: a stolen access key must not enrol
// the first device of a user who has none (or was reset) and then mint MFA tokens with it.
var errEnrolFromBrowser = NewError(CodeAccessDenied,
	"MFA devices are added from a browser session: sign in with your password (or ask an operator).")

func errNeedsFreshFactor(within time.Duration) *Error {
	return NewError(CodeMFARequired, "To add an MFA device, first pass a factor with one you have (within the last "+span(within)+").")
}

// span says a freshness window in words: "hour", "15 minutes", "60 seconds".
func span(d time.Duration) string {
	switch {
	case d == time.Hour:
		return "hour"
	case d%time.Minute == 0 && d >= 2*time.Minute:
		return fmt.Sprintf("%d minutes", int(d/time.Minute))
	}
	return fmt.Sprintf("%d seconds", int(d/time.Second))
}

// MayEnrol refuses a caller who may not add a device now: only a password (or earlier
// handler's) sign-in session enrols, and a user with an enabled device needs a fresh factor
// passed with one of them, or with a recovery code (the lost-device path).
func (s *Service) MayEnrol(ctx context.Context, c *Caller) error {
	if !c.Browser() {
		return errEnrolFromBrowser
	}
	ds, err := s.Devices.ForUser(ctx, c.User())
	if err != nil {
		return err
	}
	return s.AddDeviceProblem(c, ds)
}

// AddDeviceProblem is MayEnrol's rule on the user's devices, also used to draw the devices page.
func (s *Service) AddDeviceProblem(caller *Caller, ds []*factors.Device) error {
	c, within := &caller.Claims, caller.Within(FreshMFA)
	var enabled []string
	for _, d := range ds {
		if d.Enabled {
			enabled = append(enabled, d.Serial)
		}
	}
	if len(enabled) == 0 {
		return nil
	}
	if !c.MFAPresent() || s.Now().Sub(c.MFATime) > within {
		return errNeedsFreshFactor(within)
	}
	if c.Method != policy.MethodRecovery && !slices.Contains(enabled, c.Serial) {
		return errNeedsFreshFactor(within) // passed with a device that is gone
	}
	return nil
}

// firstEnrolment reports whether enabling dev passes a factor: the session carries none yet and
// dev is now the user's one enabled device. A later device leaves the session as it was (a
// recovery-code session stays "recovery" until a factor is passed with the new device). Two
// enrolments racing each see the other's device, so at most one of them passes.
func (s *Service) firstEnrolment(ctx context.Context, c *Caller, dev *factors.Device) (bool, error) {
	if !c.Browser() || c.Claims.MFAPresent() {
		return false, nil
	}
	ds, err := s.Devices.ForUser(ctx, c.User())
	if err != nil {
		return false, err
	}
	return !slices.ContainsFunc(ds, func(d *factors.Device) bool { return d.Enabled && d.Serial != dev.Serial }), nil
}

// beginEnrolment refuses a caller who may not add a device now (MayEnrol) and otherwise gives an
// earlier handler's user their record: their first device is what makes them a user here, whom
// an operator can then list, reset and sign out.
func (s *Service) beginEnrolment(ctx context.Context, c *Caller) error {
	if err := s.MayEnrol(ctx, c); err != nil {
		return err
	}
	if c.AuthType != policy.AuthExternal {
		return nil
	}
	_, err := s.Users.EnsureExternal(ctx, c.User())
	return err
}

// CreateVirtual makes a virtual device (CreateVirtualMFADevice) for a caller who may enrol.
func (s *Service) CreateVirtual(ctx context.Context, c *Caller, name string) (*factors.NewVirtual, error) {
	if err := s.beginEnrolment(ctx, c); err != nil {
		return nil, err
	}
	nv, err := s.Devices.CreateVirtual(ctx, c.User(), name)
	if err != nil {
		return nil, err
	}
	s.audit("device_created", zap.String("user", c.User()), zap.String("serial", nv.Device.Serial), zap.String("type", nv.Device.Type))
	return nv, nil
}

// enable turns on one of the caller's virtual devices, or assigns a hardware token, with two
// consecutive codes. The rule of MayEnrol holds here again: a device made while a factor was
// fresh is not enabled with a session whose factor has gone stale since.
func (s *Service) enable(ctx context.Context, c *Caller, serial, code1, code2 string) (*factors.Device, error) {
	if err := s.beginEnrolment(ctx, c); err != nil {
		return nil, err
	}
	dev, err := s.enableFor(ctx, c.User(), serial, code1, code2)
	if errors.Is(err, factors.ErrInUse) {
		return nil, factors.ErrNoSuchDevice // a user learns nothing of another's serials
	}
	return dev, err
}
