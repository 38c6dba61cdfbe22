package auth

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-mfa/caddy-mfa/deviceauth"
	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/factors/lockout"
	"github.com/caddy-mfa/caddy-mfa/identity"
	"github.com/caddy-mfa/caddy-mfa/roles"
	"github.com/caddy-mfa/caddy-mfa/session"
	"github.com/caddy-mfa/caddy-mfa/store"
	"github.com/caddy-mfa/caddy-mfa/throttle"
)

// Service holds every operation of the gateway over its records, keys and clock. The Caddy app
// builds one with New and hands it to each room (gate, site, admin); the tests build theirs the
// same way. The record stores are exported for reading; changes go through the operations.
type Service struct {
	Users      *identity.Directory
	AccessKeys *identity.AccessKeys
	KeyIndex   *identity.KeyIndex
	Devices    *factors.Devices
	Recovery   *factors.RecoveryCodes
	Remembered *session.RememberedBrowsers
	SMS        *factors.SMS // nil: the SMS factor is off
	WebAuthn   *factors.WebAuthn
	// DeviceGrants are the command-line sign-ins waiting for approval (RFC 8628).
	DeviceGrants *deviceauth.Grants
	Lockout      *lockout.Lockout
	Ring         *session.KeyRing
	TokenCache   *session.TokenCache // verified Bearer tokens; nil: verify every time
	Cookies      *session.Cookies
	Revocations  *session.Revocations
	Roles        *roles.Set // the declared roles (AssumeRole); nil: none
	Now          func() time.Time
	Log          *zap.Logger

	Issuer             string
	EnrollmentRequired bool
	Tokens             TokenLifetimes
	// PasswordCost is the bcrypt cost of passwords set through the admin API.
	PasswordCost int

	signIns      *session.SignIns
	passwordless bool
	webAuthnSite WebAuthnSite
	throttle     *throttle.PerAddress
	accounts     *throttle.PerAccount
	audit        func(event string, fields ...zap.Field)
	metrics      Metrics
	store        store.Store
	sealer       *store.Sealer
}

// Config is the gateway's settings, defaults applied.
type Config struct {
	Issuer             string
	EnrollmentRequired bool
	Devices            factors.Settings
	Lockout            lockout.Policy
	Session            session.CookieOptions
	Tokens             TokenLifetimes
	WebAuthn           WebAuthnConfig
	SMS                *SMSConfig // nil: the SMS factor is off
	Roles              *roles.Set // nil: no role may be assumed
	// PasswordCost is the bcrypt cost of passwords set through the admin API, and of the dummy
	// hash that makes unknown users cost the same as known ones.
	PasswordCost int
}

// TokenLifetimes bound what GetSessionToken callers may ask for, as STS does.
type TokenLifetimes struct {
	Default, Min, Max time.Duration
}

// WebAuthnConfig configures security keys.
type WebAuthnConfig struct {
	RPName           string
	UserVerification string
	// Site is the relying party; its zero value derives it from each request's site.
	Site WebAuthnSite
	// NoPasswordless turns off signing in with a passkey alone (the Caddyfile's
	// `passwordless off`); passkeys still serve as second factors.
	NoPasswordless bool
	// Rules limit which keys register: their models, and whether synced passkeys may.
	Rules factors.KeyRules
}

// WebAuthnSite is the operator's relying party: its id (a host name) and the origins that may
// use it. Empty: both are derived from each request's own site.
type WebAuthnSite struct {
	ID      string
	Origins []string
}

// SMSConfig turns on the deprecated SMS factor.
type SMSConfig struct {
	Sender  factors.SMSSender
	CodeTTL time.Duration
	HashKey []byte // keys the code hashes (factors.SMSKeySize bytes)
}

// Deps is what the service works with but does not own: storage, keys, the clock, and where it
// reports. The throttles and the token cache outlive one config (the Caddy app pools them).
type Deps struct {
	Store      store.Store
	Sealer     *store.Sealer
	Ring       *session.KeyRing
	TokenCache *session.TokenCache // nil: verify every token
	Now        func() time.Time
	// Throttle limits password and factor attempts per source address; nil: no limit.
	Throttle *throttle.PerAddress
	// Accounts limits password attempts per account, from any address; nil: no limit.
	Accounts *throttle.PerAccount
	// Audit records a security event (SPEC section 9). Fields never hold a secret or a code.
	Audit   func(event string, fields ...zap.Field)
	Metrics Metrics // nil: not counted
	Log     *zap.Logger
}

// New builds the service and loads what it keeps in memory (revocations, the access-key
// index). It writes nothing.
func New(ctx context.Context, cfg Config, d Deps) (*Service, error) {
	users := identity.NewDirectory(d.Store, d.Now, cfg.PasswordCost)
	keys := identity.NewAccessKeys(d.Store, d.Sealer, d.Now)
	devices := factors.NewDevices(d.Store, d.Sealer, d.Now, cfg.Devices)
	s := &Service{
		Users: users, AccessKeys: keys, KeyIndex: identity.NewKeyIndex(keys, users),
		Devices:      devices,
		Recovery:     factors.NewRecoveryCodes(d.Store, d.Sealer, d.Now),
		Remembered:   session.NewRememberedBrowsers(d.Store, d.Now),
		Lockout:      lockout.New(d.Store, d.Now, cfg.Lockout),
		DeviceGrants: deviceauth.New(d.Store, d.Now),
		Ring:         d.Ring, TokenCache: d.TokenCache,
		Cookies:     session.NewCookies(d.Ring, cfg.Session, d.Now),
		Revocations: session.NewRevocations(d.Store, d.Now, cfg.Tokens.Max+cfg.Session.Absolute),
		signIns:     session.NewSignIns(d.Store, d.Now),
		Roles:       cfg.Roles, Now: d.Now, Log: d.Log,
		Issuer: cfg.Issuer, EnrollmentRequired: cfg.EnrollmentRequired, Tokens: cfg.Tokens, PasswordCost: cfg.PasswordCost,
		webAuthnSite: cfg.WebAuthn.Site, passwordless: !cfg.WebAuthn.NoPasswordless, throttle: d.Throttle, accounts: d.Accounts,
		audit: d.Audit, metrics: d.Metrics, store: d.Store, sealer: d.Sealer,
	}
	if s.Log == nil {
		s.Log = zap.NewNop()
	}
	if s.audit == nil {
		s.audit = func(string, ...zap.Field) {}
	}
	if s.metrics == nil {
		s.metrics = noMetrics{}
	}
	var err error
	if s.WebAuthn, err = factors.NewWebAuthn(devices, cfg.WebAuthn.RPName, cfg.WebAuthn.UserVerification); err != nil {
		return nil, fmt.Errorf("webauthn: %w", err)
	}
	s.WebAuthn.Restrict(cfg.WebAuthn.Rules)
	if c := cfg.SMS; c != nil {
		if s.SMS, err = factors.NewSMS(devices, c.Sender, c.CodeTTL, cfg.Issuer, c.HashKey); err != nil {
			return nil, fmt.Errorf("sms: %w", err)
		}
	}
	if err := s.Revocations.Reload(ctx); err != nil {
		return nil, fmt.Errorf("loading revocations: %w", err)
	}
	if err := s.KeyIndex.Reload(ctx); err != nil {
		return nil, fmt.Errorf("loading access keys: %w", err)
	}
	return s, nil
}

// Audit records a security event of one of the rooms.
func (s *Service) Audit(event string, fields ...zap.Field) { s.audit(event, fields...) }

// Throttles are the attempt throttles the service was given (the Caddy app pools them across
// reloads).
func (s *Service) Throttles() (*throttle.PerAddress, *throttle.PerAccount) {
	return s.throttle, s.accounts
}
