package auth

import (
	"context"
	"net"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/identity"
	"github.com/caddy-mfa/caddy-mfa/policy"
)

// Security keys and passkeys (WebAuthn): the ceremonies, with the enrolment rule and the one
// factor check. The browser's answers pass through as the bytes it sent.

// RelyingParty is the relying party of one ceremony at origin scheme://host: the configured
// one, or the request's own site.
func (s *Service) RelyingParty(scheme, host string) factors.RelyingParty {
	origin := scheme + "://" + host
	site := s.webAuthnSite
	if site.ID == "" {
		return factors.RelyingParty{ID: hostOnly(host), Origin: origin}
	}
	if !slices.Contains(site.Origins, origin) && len(site.Origins) > 0 {
		origin = site.Origins[0]
	}
	return factors.RelyingParty{ID: site.ID, Origin: origin}
}

// KeysUnusable says why browsers will not run a WebAuthn ceremony for rp, or is nil when they
// will: a relying party's id is a domain name, never an IP address, and WebAuthn needs a secure
// context (HTTPS, or http://localhost).
func KeysUnusable(rp factors.RelyingParty) error {
	if net.ParseIP(rp.ID) != nil {
		return NewError(CodeInvalidInput, "Security keys and passkeys need this site to be reached by a domain name, not an IP address ("+rp.ID+"): open it as https://your.domain (or http://localhost).")
	}
	if strings.HasPrefix(rp.Origin, "http://") && rp.ID != "localhost" && !strings.HasSuffix(rp.ID, ".localhost") {
		return NewError(CodeInvalidInput, "Security keys and passkeys need HTTPS: browsers offer them only to https:// sites (and http://localhost).")
	}
	return nil
}

// KeyHandle is the caller's random WebAuthn user handle; an earlier handler's user gets a
// record here now, since a key is a device.
func (s *Service) KeyHandle(ctx context.Context, c *Caller) ([]byte, error) {
	var u *identity.User
	var err error
	if c.AuthType == policy.AuthExternal {
		u, err = s.Users.EnsureExternal(ctx, c.User())
	} else {
		u, err = s.Users.Get(ctx, c.User())
	}
	if err != nil {
		return nil, err
	}
	return u.Handle, nil
}

// BeginKeyRegistration starts adding a security key named name, for a caller who may enrol.
func (s *Service) BeginKeyRegistration(ctx context.Context, c *Caller, handle []byte, name string, rp factors.RelyingParty) (any, error) {
	if err := KeysUnusable(rp); err != nil {
		return nil, err
	}
	if err := s.MayEnrol(ctx, c); err != nil {
		return nil, err
	}
	return s.WebAuthn.BeginRegistration(ctx, c.User(), handle, name, rp)
}

// FinishKeyRegistration keeps the new key. As with any device, only the user's very first one
// passes a factor (passed is set); a later key leaves the session as it was.
func (s *Service) FinishKeyRegistration(ctx context.Context, c *Caller, handle, answer []byte) (dev *factors.Device, passed bool, err error) {
	if err := s.MayEnrol(ctx, c); err != nil { // again: the factor may have gone stale since begin
		return nil, false, err
	}
	dev, err = s.WebAuthn.FinishRegistration(ctx, c.User(), handle, answer)
	if err != nil {
		s.Log.Info("security key registration refused", zap.String("user", c.User()), zap.Error(err))
		return nil, false, err
	}
	s.audit("device_created", zap.String("user", c.User()), zap.String("serial", dev.Serial), zap.String("type", dev.Type))
	s.audit("device_enabled", zap.String("user", c.User()), zap.String("serial", dev.Serial))
	passed, err = s.firstEnrolment(ctx, c, dev)
	return dev, passed, err
}

// BeginKeyLogin starts a security key sign-in; a locked user is told at once.
func (s *Service) BeginKeyLogin(ctx context.Context, c *Caller, handle []byte, rp factors.RelyingParty) (any, error) {
	if err := KeysUnusable(rp); err != nil {
		return nil, err
	}
	if err := s.refuseIfLocked(ctx, c.User(), factors.TypeWebAuthn); err != nil {
		return nil, err
	}
	return s.WebAuthn.BeginLogin(ctx, c.User(), handle, rp)
}

// FinishKeyLogin passes a factor with a security key, as one factor attempt: a refused
// assertion counts toward the lockout; a counter that went backwards (a cloned key) is refused
// and logged.
func (s *Service) FinishKeyLogin(ctx context.Context, c *Caller, handle, answer []byte) (*factors.Device, error) {
	return s.attempt(ctx, c.User(), []string{factors.TypeWebAuthn}, "factor_passed", func() (*factors.Device, error) {
		dev, err := s.WebAuthn.FinishLogin(ctx, c.User(), handle, answer)
		s.noteClone(c.User(), err)
		return dev, err
	})
}

// hostOnly drops the port of a Host header, if it has one.
func hostOnly(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return host
}
