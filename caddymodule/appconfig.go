package caddymodule

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-mfa/caddy-mfa/identity"
)

// The app's configuration: the defaults Provision fills in, and the checks Validate makes.

// validate checks the storage block, which Provision needs before it can open the store.
func (c *StorageConfig) validate() error {
	switch {
	case c == nil:
	case c.Backend != "" && c.Backend != "caddy" && c.Backend != "redis":
		return fmt.Errorf("mfa: storage: unknown backend %q (want caddy or redis)", c.Backend)
	case c.Backend == "redis" && c.URL == "":
		return fmt.Errorf("mfa: storage redis: a URL is needed (redis://host:port)")
	}
	return nil
}

// setDefaults is the one place the app's defaults are set. Provision calls it first; Validate
// never does, so a check sees the config as written (or as defaulted, after Provision).
func (a *App) setDefaults() {
	if a.Issuer == "" {
		a.Issuer = "caddy-mfa"
	}
	if a.Storage == nil {
		a.Storage = &StorageConfig{}
	}
	if a.WebAuthn == nil {
		a.WebAuthn = &WebAuthnConfig{}
	}
	setString(&a.WebAuthn.RPName, a.Issuer)
	setString(&a.WebAuthn.UserVerification, "preferred")
	if a.Storage.Backend == "" {
		a.Storage.Backend = "caddy"
	}
	if a.MaxDevices == nil {
		eight := 8
		a.MaxDevices = &eight
	}
	if a.Enrollment == "" {
		a.Enrollment = "required"
	}
	if a.TOTP == nil {
		a.TOTP = &TOTPConfig{}
	}
	if a.TOTP.Skew == nil {
		one := 1
		a.TOTP.Skew = &one
	}
	if a.TOTP.ResyncWindow == 0 {
		a.TOTP.ResyncWindow = 10
	}
	if a.Session == nil {
		a.Session = &SessionConfig{}
	}
	setString(&a.Session.CookieName, "caddy_mfa")
	setDuration(&a.Session.Idle, 30*time.Minute)
	setDuration(&a.Session.Absolute, 12*time.Hour)
	if a.SessionTokens == nil {
		a.SessionTokens = &SessionTokensConfig{}
	}
	setDuration(&a.SessionTokens.Default, 12*time.Hour)
	setDuration(&a.SessionTokens.Min, 15*time.Minute)
	setDuration(&a.SessionTokens.Max, 36*time.Hour)
	if a.Lockout == nil {
		a.Lockout = &LockoutConfig{}
	}
	if a.Lockout.MaxFailures == 0 {
		a.Lockout.MaxFailures = 10
	}
	setDuration(&a.Lockout.BaseDelay, 30*time.Second)
	setDuration(&a.Lockout.MaxDelay, time.Hour)
	if a.SMS != nil {
		setDuration(&a.SMS.CodeTTL, 5*time.Minute)
	}
}

func setString(s *string, def string) {
	if *s == "" {
		*s = def
	}
}

func setDuration(d *caddy.Duration, def time.Duration) {
	if *d == 0 {
		*d = caddy.Duration(def)
	}
}

// bcryptCost is the cost of the bootstrap users' hashes, so that checks for unknown users cost
// the same (caddy hash-password uses 14).
func (a *App) bcryptCost() int {
	cost := 0
	for _, u := range a.Users {
		if c, err := bcrypt.Cost([]byte(u.PasswordHash)); err == nil {
			cost = max(cost, c)
		}
	}
	if cost == 0 {
		return 14
	}
	return cost
}

// Validate checks the configuration without side effects: it sets no default, so every
// sub-config may be unset. Each part checks itself; the first error found is returned, in the
// order of the fields.
func (a *App) Validate() error {
	for _, check := range []func() error{
		a.Storage.validate,
		a.validateTopLevel,
		a.TOTP.validate,
		a.Session.validate,
		a.SessionTokens.validate,
		a.Lockout.validate,
		a.WebAuthn.validate,
		a.SMS.validate,
		a.validateUsers,
		a.validateRoles,
	} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// validateTopLevel checks the app's own scalar fields.
func (a *App) validateTopLevel() error {
	if a.MaxDevices != nil && (*a.MaxDevices < 1 || *a.MaxDevices > 100) {
		return fmt.Errorf("mfa: max_devices: %d is not between 1 and 100", *a.MaxDevices)
	}
	if a.Enrollment != "" {
		if err := checkEnrollment(a.Enrollment); err != nil {
			return fmt.Errorf("mfa: %w", err)
		}
	}
	return nil
}

// checkEnrollment is the one rule for the enrollment key. The Caddyfile parser applies it too,
// so that a Caddyfile's mistake is reported at adapt time, with its line.
func checkEnrollment(e string) error {
	if e != "required" && e != "optional" {
		return fmt.Errorf("enrollment: want required or optional, got %q", e)
	}
	return nil
}

func (t *TOTPConfig) validate() error {
	switch {
	case t == nil:
	case t.Skew != nil && (*t.Skew < 0 || *t.Skew > 10):
		return fmt.Errorf("mfa: totp skew: %d is not between 0 and 10", *t.Skew)
	case t.ResyncWindow < 0 || t.ResyncWindow > 100:
		return fmt.Errorf("mfa: totp resync_window: %d is not between 1 and 100", t.ResyncWindow)
	}
	return nil
}

// validate accepts an unset idle or absolute (zero): setDefaults fills them in.
func (s *SessionConfig) validate() error {
	if s != nil && (s.Idle < 0 || s.Absolute < 0 || (s.Idle > 0 && s.Absolute > 0 && s.Idle > s.Absolute)) {
		return fmt.Errorf("mfa: session: idle (%s) and absolute (%s) must be positive, idle no longer than absolute", time.Duration(s.Idle), time.Duration(s.Absolute))
	}
	return nil
}

// validate compares the bounds only when both are set; an unset one is a default that fits.
func (t *SessionTokensConfig) validate() error {
	if t == nil || t.Min <= 0 || t.Max <= 0 {
		return nil
	}
	if t.Min > t.Max || (t.Default > 0 && (t.Default < t.Min || t.Default > t.Max)) {
		return fmt.Errorf("mfa: session_tokens: want min <= default <= max, got %s, %s, %s",
			time.Duration(t.Min), time.Duration(t.Default), time.Duration(t.Max))
	}
	return nil
}

func (l *LockoutConfig) validate() error {
	switch {
	case l == nil:
	case l.MaxFailures < 0 || l.MaxFailures > 100:
		return fmt.Errorf("mfa: lockout max_failures: %d is not between 1 and 100 (NIST SP 800-63B)", l.MaxFailures)
	case l.BaseDelay < 0 || l.MaxDelay < 0 || (l.MaxDelay > 0 && l.BaseDelay > l.MaxDelay):
		return fmt.Errorf("mfa: lockout: base_delay must be positive and no longer than max_delay")
	}
	return nil
}

// validate lets a webhook be a placeholder ({env.*}, {file.*}), which Provision resolves.
func (c *SMSConfig) validate() error {
	if c == nil {
		return nil
	}
	if u, err := url.Parse(c.Webhook); err != nil || (u.Scheme != "http" && u.Scheme != "https" && !strings.HasPrefix(c.Webhook, "{")) {
		return fmt.Errorf("mfa: sms webhook: %q is not an http(s) URL", c.Webhook)
	}
	if c.CodeTTL < 0 || time.Duration(c.CodeTTL) > time.Hour {
		return fmt.Errorf("mfa: sms code_ttl: must be positive and at most 1h")
	}
	return nil
}

func (a *App) validateUsers() error {
	for i := range a.Users {
		if err := a.Users[i].validate(); err != nil {
			return err
		}
	}
	return nil
}

// validate checks a bootstrap user's name and that its password is a hash, never plain text.
func (u *UserConfig) validate() error {
	if err := identity.ValidateName(u.Name); err != nil {
		return fmt.Errorf("mfa: user: %w", err)
	}
	if _, err := bcrypt.Cost([]byte(u.PasswordHash)); err != nil {
		return fmt.Errorf("mfa: user %s: the password must be a bcrypt hash (from caddy hash-password): %w", u.Name, err)
	}
	return nil
}

// aaguidForm is an authenticator model's AAGUID as a UUID.
var aaguidForm = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

// validate checks that the origins are URLs whose hosts sit under rp_id, as browsers demand.
func (c *WebAuthnConfig) validate() error {
	if c == nil {
		return nil
	}
	switch c.UserVerification {
	case "", "required", "preferred", "discouraged":
	default:
		return fmt.Errorf("mfa: webauthn user_verification: want required, preferred or discouraged, got %q", c.UserVerification)
	}
	if c.Passwordless != "" && c.Passwordless != "on" && c.Passwordless != "off" {
		return fmt.Errorf("mfa: webauthn passwordless: want on or off, got %q", c.Passwordless)
	}
	if c.BackupEligible != "" && c.BackupEligible != "allow" && c.BackupEligible != "deny" {
		return fmt.Errorf("mfa: webauthn backup_eligible: want allow or deny, got %q", c.BackupEligible)
	}
	for _, id := range c.AllowedAAGUIDs {
		if !aaguidForm.MatchString(id) {
			return fmt.Errorf("mfa: webauthn allowed_aaguids: %q is not an AAGUID like ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4", id)
		}
	}
	if (c.RPID == "") != (len(c.Origins) == 0) {
		return fmt.Errorf("mfa: webauthn: rp_id and origins go together (leave both out to derive them from each request)")
	}
	for _, o := range c.Origins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" {
			return fmt.Errorf("mfa: webauthn origins: %q is not an origin like https://app.example.com", o)
		}
		host := u.Hostname()
		if host != c.RPID && !strings.HasSuffix(host, "."+c.RPID) {
			return fmt.Errorf("mfa: webauthn origins: %q is not on rp_id %q or under it", o, c.RPID)
		}
		if u.Scheme == "http" && host != "localhost" {
			return fmt.Errorf("mfa: webauthn origins: %q: browsers allow WebAuthn only over HTTPS (or on localhost)", o)
		}
	}
	return nil
}
