package auth

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"
	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/identity"
)

// The operators' calls on users and the device pool.

// UserSummary is a user as the admin API lists it.
type UserSummary struct {
	User       *identity.User
	MFAActive  bool
	Devices    int
	AccessKeys int
}

// Summarize counts a user's devices and access keys.
func (s *Service) Summarize(ctx context.Context, u *identity.User) (UserSummary, error) {
	ds, err := s.Devices.ForUser(ctx, u.Name)
	if err != nil {
		return UserSummary{}, err
	}
	ks, err := s.AccessKeys.ForUser(ctx, u.Name)
	if err != nil {
		return UserSummary{}, err
	}
	sum := UserSummary{User: u, Devices: len(ds), AccessKeys: len(ks)}
	for _, d := range ds {
		sum.MFAActive = sum.MFAActive || d.Enabled
	}
	return sum, nil
}

// CreateUser makes a local user; an empty password makes one who cannot sign in with one.
func (s *Service) CreateUser(ctx context.Context, name, password string, groups []string) (*identity.User, error) {
	if err := identity.ValidateName(name); err != nil {
		return nil, NewError(CodeInvalidInput, err.Error())
	}
	for _, g := range groups {
		if identity.ValidateName(g) != nil {
			return nil, NewError(CodeInvalidInput, fmt.Sprintf("group %q: must be 1-64 characters of letters, digits and +=,.@_-", g))
		}
	}
	hash := ""
	if password != "" {
		if len(password) > 72 {
			return nil, NewError(CodeInvalidInput, "password: at most 72 bytes (bcrypt's limit)")
		}
		h, err := bcrypt.GenerateFromPassword([]byte(password), s.PasswordCost)
		if err != nil {
			return nil, err
		}
		hash = string(h)
	}
	u, err := s.Users.Create(ctx, name, hash, groups)
	if err != nil {
		return nil, err
	}
	if err := s.KeyIndex.Reload(ctx); err != nil {
		return nil, err
	}
	s.audit("user_created", zap.String("user", u.Name))
	return u, nil
}

// DeleteUser refuses while the user has devices or access keys (IAM's DeleteConflict), unless
// force: then sessions, keys and devices go first, and the user record last, so a failure half
// way leaves a user who still exists and can be deleted again.
func (s *Service) DeleteUser(ctx context.Context, name string, force bool) error {
	if _, err := s.Users.Get(ctx, name); err != nil {
		return err
	}
	ds, err := s.Devices.ForUser(ctx, name)
	if err != nil {
		return err
	}
	ks, err := s.AccessKeys.ForUser(ctx, name)
	if err != nil {
		return err
	}
	if (len(ds) > 0 || len(ks) > 0) && !force {
		return NewError(CodeDeleteConflict, fmt.Sprintf(
			"User %s has %d MFA devices and %d access keys; remove them first, or force the deletion (caddy mfa user delete %s --force; ?force=true in the admin API).",
			name, len(ds), len(ks), name))
	}
	if err := s.Revocations.RevokeUser(ctx, name); err != nil {
		return err
	}
	for _, k := range ks {
		if err := s.deleteAccessKey(ctx, k); err != nil {
			return err
		}
	}
	for _, d := range ds {
		if err := s.Devices.Remove(ctx, d); err != nil {
			return err
		}
	}
	if err := s.forgetBrowsers(ctx, name); err != nil {
		return err
	}
	if err := s.Users.Delete(ctx, name); err != nil {
		return err
	}
	if err := s.KeyIndex.Reload(ctx); err != nil {
		return err
	}
	s.audit("user_deleted", zap.String("user", name), zap.Int("devices", len(ds)), zap.Int("access_keys", len(ks)))
	return nil
}

// RevokeSessions voids every session and token of user, and forgets their remembered
// browsers: a remembered browser would otherwise sign the user in again with a factor.
func (s *Service) RevokeSessions(ctx context.Context, user string) error {
	if _, err := s.Users.Get(ctx, user); err != nil {
		return err
	}
	if err := s.Revocations.RevokeUser(ctx, user); err != nil {
		return err
	}
	if err := s.forgetBrowsers(ctx, user); err != nil {
		return err
	}
	s.audit("sessions_revoked", zap.String("user", user))
	return nil
}

// CreateVirtualFor is CreateVirtualMFADevice by an operator, for a user who will load the seed.
func (s *Service) CreateVirtualFor(ctx context.Context, user, name string) (*factors.NewVirtual, error) {
	if _, err := s.Users.Get(ctx, user); err != nil {
		return nil, err
	}
	nv, err := s.Devices.CreateVirtual(ctx, user, name)
	if err != nil {
		return nil, err
	}
	s.audit("device_created", zap.String("user", user), zap.String("serial", nv.Device.Serial), zap.String("type", nv.Device.Type))
	return nv, nil
}

// ImportHardware adds the seeds' tokens as unassigned devices: all of them, or none. The seeds
// are wiped when it returns.
func (s *Service) ImportHardware(ctx context.Context, seeds []factors.HardwareSeed) ([]string, error) {
	serials, err := s.Devices.ImportHardware(ctx, seeds)
	for i := range seeds {
		clear(seeds[i].Seed)
	}
	if err != nil {
		return nil, err
	}
	s.audit("hardware_imported", zap.Int("tokens", len(serials)))
	return serials, nil
}

// DeleteDevice deletes an unassigned device from the pool.
func (s *Service) DeleteDevice(ctx context.Context, serial string) error {
	if err := s.Devices.Delete(ctx, serial); err != nil {
		return err
	}
	s.audit("device_deleted", zap.String("serial", serial))
	return nil
}

// LockedUntil is when user's factor lock ends; zero when there is none.
func (s *Service) LockedUntil(ctx context.Context, user string) (time.Time, error) {
	locked, err := s.Lockout.LockedFor(ctx, user)
	if err != nil || locked == 0 {
		return time.Time{}, err
	}
	return s.Now().Add(locked), nil
}
