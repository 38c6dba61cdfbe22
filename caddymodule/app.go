package caddymodule

import (
	"cmp"
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyevents"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddy-mfa/caddy-mfa/admin"
	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/caddymodule/metrics"
	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/factors/lockout"
	"github.com/caddy-mfa/caddy-mfa/session"
	"github.com/caddy-mfa/caddy-mfa/store"
	"github.com/caddy-mfa/caddy-mfa/store/caddystore"
)

func init() {
	caddy.RegisterModule(App{})
}

// App is the `mfa` app: the users, devices and keys that every `mfa` handler shares, and how
// factors are checked. Every field is optional.
type App struct {
	// Issuer names the gateway in authenticator apps (the otpauth issuer) and on its pages.
	// Default: "caddy-mfa".
	Issuer string `json:"issuer,omitempty"`

	// Storage is where records live. Default: Caddy's configured storage (the file system under
	// Caddy's data directory unless the config says otherwise).
	Storage *StorageConfig `json:"storage,omitempty"`

	// EncryptionKey seals secrets at rest (TOTP seeds, recovery code salts, access key hashes)
	// with AES-256-GCM: 32 bytes, base64; use a placeholder such as {env.MFA_ENCRYPTION_KEY}.
	// A string, or a list while the key rotates: the first seals, every one opens, and
	// `caddy mfa reseal` moves every record to the first. Default: a key generated once into
	// mfa/encryption.key in Caddy's config directory (never beside the data, never into shared
	// storage).
	EncryptionKey KeyList `json:"encryption_key,omitempty"`

	// SigningKeys sign session tokens and cookies: the first signs, all verify, so keys rotate
	// without signing anybody out. Each at least 32 bytes, base64. Default: a key generated once
	// into mfa/signing.key in Caddy's config directory.
	SigningKeys []string `json:"signing_keys,omitempty"`

	// MaxDevices caps a user's MFA devices, every type together: 1 to 100. Default: 8 (AWS's
	// quota). A pointer, so that an explicit 0 is refused rather than read as the default.
	MaxDevices *int `json:"max_devices,omitempty"`

	// Enrollment is "required" (a signed-in user with no device may do nothing but enrol) or
	// "optional". Default: "required".
	Enrollment string `json:"enrollment,omitempty"`

	// TOTP tunes code checking.
	TOTP *TOTPConfig `json:"totp,omitempty"`

	// Session configures browser sessions.
	Session *SessionConfig `json:"session,omitempty"`

	// SessionTokens bounds the lifetimes of API session tokens (GetSessionToken).
	SessionTokens *SessionTokensConfig `json:"session_tokens,omitempty"`

	// Lockout caps guessing of second factors.
	Lockout *LockoutConfig `json:"lockout,omitempty"`

	// WebAuthn configures security keys and passkeys.
	WebAuthn *WebAuthnConfig `json:"webauthn,omitempty"`

	// SMS turns on the deprecated SMS factor: codes posted as JSON to an operator's webhook,
	// which relays them to an SMS provider. Default: off.
	SMS *SMSConfig `json:"sms,omitempty"`

	// Users are bootstrap local users, kept in storage and updated at each start.
	Users []UserConfig `json:"users,omitempty"`

	// Roles are the roles that may be assumed (POST {prefix}/api/assume-role). Default: none.
	Roles []RoleConfig `json:"roles,omitempty"`

	svc    *auth.Service
	admin  *admin.Admin
	ctx    caddy.Context
	store  store.Store
	logger *zap.Logger
	pooled []string // keys of the long-lived state this config uses (state.go)
	// policies are the handlers' compiled policies, whose statements count what they decide.
	policies *policyBook
	sealer   *store.Sealer

	keyWrites []keyFileWrite // generated key files for Start to put in place (keyfiles.go)
	pollers   *pollers       // the background reloads Start runs (start.go)
	pollEvery time.Duration  // a test's poll interval; zero is pollInterval
}

// StorageConfig chooses the storage backend.
type StorageConfig struct {
	// Backend is "caddy" (Caddy's configured storage) or "redis". Default: "caddy".
	Backend string `json:"backend,omitempty"`
	// URL of the Redis server, for the redis backend: redis://[user:password@]host:port[/db],
	// rediss:// for TLS, ?master_name=NAME for Sentinel, ?mode=cluster for Cluster (a plain URL
	// naming a Cluster node opens the Cluster too). Forms and examples: docs/operations.md.
	URL string `json:"url,omitempty"`
}

// TOTPConfig tunes TOTP checks.
type TOTPConfig struct {
	// Skew is how many time steps either side of the device's recorded drift a sign-in code
	// may come from. Default: 1.
	Skew *int `json:"skew,omitempty"`
	// ResyncWindow is how many steps either side enable and resync search for two consecutive
	// codes. Default: 10 (five minutes either way at 30 s).
	ResyncWindow int `json:"resync_window,omitempty"`
}

// SessionConfig configures browser sessions.
type SessionConfig struct {
	// CookieName names the session cookie; on HTTPS it gets the __Host- prefix. Default: "caddy_mfa".
	CookieName string `json:"cookie_name,omitempty"`
	// Idle ends a session unused this long. Default: 30m.
	Idle caddy.Duration `json:"idle,omitempty"`
	// Absolute ends a session this long after sign-in. Default: 12h.
	Absolute caddy.Duration `json:"absolute,omitempty"`
}

// SessionTokensConfig bounds API session token lifetimes, as STS does.
type SessionTokensConfig struct {
	// Default lifetime when the caller asks for none. Default: 12h.
	Default caddy.Duration `json:"default,omitempty"`
	// Min lifetime a caller may ask for. Default: 15m.
	Min caddy.Duration `json:"min,omitempty"`
	// Max lifetime a caller may ask for. Default: 36h.
	Max caddy.Duration `json:"max,omitempty"`
}

// LockoutConfig caps factor guessing.
type LockoutConfig struct {
	// MaxFailures consecutive failed factor attempts lock the user's factor checks. Default: 10
	// (NIST SP 800-63B allows at most 100).
	MaxFailures int `json:"max_failures,omitempty"`
	// BaseDelay is the first lock's length, doubling with each further lock. Default: 30s.
	BaseDelay caddy.Duration `json:"base_delay,omitempty"`
	// MaxDelay caps the lock's length. Default: 1h.
	MaxDelay caddy.Duration `json:"max_delay,omitempty"`
}

// WebAuthnConfig configures security keys and passkeys (WebAuthn).
type WebAuthnConfig struct {
	// RPID is the relying party id: the site's registrable host name (example.com). Default: the
	// host of each request, with Origins following it.
	RPID string `json:"rp_id,omitempty"`
	// RPName is shown by browsers while registering. Default: the issuer.
	RPName string `json:"rp_name,omitempty"`
	// Origins that may use the relying party, e.g. https://app.example.com. Default: each
	// request's own origin. Required with rp_id.
	Origins []string `json:"origins,omitempty"`
	// UserVerification is required, preferred or discouraged. Default: preferred.
	UserVerification string `json:"user_verification,omitempty"`
	// Passwordless is "on" (users may sign in with a passkey alone, which verifies them with a
	// PIN or biometric) or "off" (passkeys serve as second factors only). Default: on.
	Passwordless string `json:"passwordless,omitempty"`
	// AllowedAAGUIDs are the authenticator models (AAGUIDs, as UUIDs) that may register; keys
	// of other models, or of none they name, are refused. Default: any.
	AllowedAAGUIDs []string `json:"allowed_aaguids,omitempty"`
	// BackupEligible is "allow" or "deny": whether synced passkeys (backup-eligible credentials)
	// may register, or only keys bound to one device. Default: allow.
	BackupEligible string `json:"backup_eligible,omitempty"`
}

// SMSConfig configures the deprecated SMS factor.
type SMSConfig struct {
	// Webhook receives {"to": "+15551234567", "message": "..."} for each code. Required.
	Webhook string `json:"webhook"`
	// CodeTTL is how long a sent code is valid. Default: 5m.
	CodeTTL caddy.Duration `json:"code_ttl,omitempty"`
}

// UserConfig is a bootstrap local user.
type UserConfig struct {
	// Name is the user name: 1-64 characters of letters, digits and +=,.@_-.
	Name string `json:"name"`
	// PasswordHash is a bcrypt hash, as `caddy hash-password` prints it.
	PasswordHash string `json:"password_hash"`
	// Groups the user belongs to (user:Groups in policies).
	Groups []string `json:"groups,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "mfa",
		New: func() caddy.Module { return new(App) },
	}
}

// Provision sets defaults, loads the keys, opens the store and builds the operations layer. It
// writes nothing: Caddy provisions for `caddy validate` too, and only a started config may change
// files or records (Start).
func (a *App) Provision(ctx caddy.Context) error {
	a.ctx, a.logger, a.pollers = ctx, ctx.Logger(), new(pollers)
	a.setDefaults()
	repl := caddy.NewReplacer()
	if err := a.openStore(ctx, repl); err != nil {
		return err
	}
	deps, smsKey, err := a.dependencies(ctx, repl)
	if err != nil {
		return err
	}
	defer clear(smsKey)
	if err := a.WebAuthn.validate(); err != nil { // first: the factor's own refusal would hide the field's name
		return err
	}
	cfg := a.authConfig(repl, smsKey)
	if cfg.Roles, err = a.compileRoles(); err != nil {
		return err
	}
	if a.svc, err = auth.New(ctx, cfg, deps); err != nil {
		return fmt.Errorf("mfa: %w", err)
	}
	a.admin = admin.New(a.svc)
	a.admin.PoliciesFor = a.policiesFor
	a.admin.Statements = a.policies.stats
	return nil
}

// dependencies are the keys, the long-lived state and the reporting the operations layer is
// built on, and the key of the SMS code hashes.
func (a *App) dependencies(ctx caddy.Context, repl *caddy.Replacer) (d auth.Deps, smsKey []byte, err error) {
	encKeys, err := a.encryptionKeys(repl)
	if err != nil {
		return d, nil, err
	}
	sealer, err := store.NewSealer(encKeys...)
	// From the first key: rotating the encryption key voids the SMS codes in flight (minutes).
	smsKey, kerr := derivedKey(encKeys[0], "sms code hashes", factors.SMSKeySize)
	for _, k := range encKeys {
		clear(k)
	}
	if err = cmp.Or(err, kerr); err != nil {
		return d, nil, fmt.Errorf("mfa: %w", err)
	}
	// Read-only here; Start records the proof on a fresh store.
	if err := store.VerifyKey(ctx, a.store, sealer); err != nil {
		return d, smsKey, a.wrongKey(err)
	}
	a.sealer = sealer
	signing, err := a.signingKeys(repl)
	if err != nil {
		return d, smsKey, err
	}
	ring, err := session.NewKeyRing(signing...)
	if err != nil {
		return d, smsKey, err
	}
	d = auth.Deps{Store: a.store, Sealer: sealer, Ring: ring, Now: time.Now, Log: a.logger}
	if d.Audit, err = a.auditor(ctx); err != nil {
		return d, smsKey, err
	}
	m, err := metrics.New(ctx.GetMetricsRegistry())
	if err != nil {
		return d, smsKey, fmt.Errorf("mfa: metrics: %w", err)
	}
	d.Metrics = m
	a.policies = &policyBook{since: time.Now()}
	if err := metrics.RegisterStatements(ctx.GetMetricsRegistry(), a.policies.each); err != nil {
		return d, smsKey, fmt.Errorf("mfa: metrics: %w", err)
	}
	return d, smsKey, a.loadLongLived(&d, signing)
}

// authConfig is the app's configuration, defaults applied, as the operations layer takes it.
func (a *App) authConfig(repl *caddy.Replacer, smsKey []byte) auth.Config {
	t, wa := a.SessionTokens, a.WebAuthn
	cfg := auth.Config{
		Issuer:             a.Issuer,
		EnrollmentRequired: a.Enrollment == "required",
		Devices:            factors.Settings{Issuer: a.Issuer, MaxDevices: *a.MaxDevices, Skew: *a.TOTP.Skew, ResyncWindow: a.TOTP.ResyncWindow},
		Lockout: lockout.Policy{
			MaxFailures: a.Lockout.MaxFailures, BaseDelay: time.Duration(a.Lockout.BaseDelay), MaxDelay: time.Duration(a.Lockout.MaxDelay),
		},
		Session: session.CookieOptions{Name: a.Session.CookieName, Idle: time.Duration(a.Session.Idle), Absolute: time.Duration(a.Session.Absolute),
			Secure: clientSecure},
		Tokens: auth.TokenLifetimes{Default: time.Duration(t.Default), Min: time.Duration(t.Min), Max: time.Duration(t.Max)},
		WebAuthn: auth.WebAuthnConfig{RPName: wa.RPName, UserVerification: wa.UserVerification,
			Site: auth.WebAuthnSite{ID: wa.RPID, Origins: wa.Origins}, NoPasswordless: wa.Passwordless == "off",
			Rules: factors.KeyRules{AllowedAAGUIDs: wa.AllowedAAGUIDs, DenyBackupEligible: wa.BackupEligible == "deny"}},
		PasswordCost: a.bcryptCost(),
	}
	if a.SMS != nil {
		cfg.SMS = &auth.SMSConfig{Sender: &factors.Webhook{URL: repl.ReplaceAll(a.SMS.Webhook, "")},
			CodeTTL: time.Duration(a.SMS.CodeTTL), HashKey: smsKey}
	}
	return cfg
}

// openStore connects to the configured backend. The storage config is checked first (Validate
// checks it again): connecting to a backend it has not understood would fail less clearly.
func (a *App) openStore(ctx caddy.Context, repl *caddy.Replacer) error {
	if err := a.Storage.validate(); err != nil {
		return err
	}
	if a.Storage.Backend != "redis" {
		a.store = caddystore.New(ctx.Storage(), "mfa")
		return nil
	}
	// Keys never live beside the data they protect: every node must be given them.
	if len(a.EncryptionKey) == 0 || len(a.SigningKeys) == 0 {
		return fmt.Errorf("mfa: storage redis needs encryption_key and signing_keys in the config (the same on every node); generated keys would differ per node")
	}
	rs, err := a.useRedis(ctx, repl.ReplaceAll(a.Storage.URL, ""))
	if err != nil {
		return fmt.Errorf("mfa: storage redis: %w", err)
	}
	a.store = rs
	return nil
}

// auditor sends each security event to the logger mfa.audit and to Caddy's events app (as
// mfa.<event>, for event handlers to act on), with the same fields, none of them a secret.
func (a *App) auditor(ctx caddy.Context) (func(string, ...zap.Field), error) {
	logger := a.logger.Named("audit")
	eventsModule, err := ctx.App("events")
	if err != nil {
		return nil, fmt.Errorf("mfa: events app: %w", err)
	}
	events := eventsModule.(*caddyevents.App)
	return func(event string, fields ...zap.Field) {
		logger.Info(event, fields...)
		enc := zapcore.NewMapObjectEncoder()
		for _, f := range fields {
			f.AddTo(enc)
		}
		events.Emit(a.ctx, "mfa."+event, enc.Fields)
	}, nil
}

func (a *App) signingKeys(repl *caddy.Replacer) ([][]byte, error) {
	if len(a.SigningKeys) == 0 {
		k, err := a.generatedKey("signing.key", session.MinKeySize)
		return [][]byte{k}, err
	}
	out := make([][]byte, len(a.SigningKeys))
	for i, s := range a.SigningKeys {
		k, err := decodeKey(fmt.Sprintf("signing_keys[%d]", i), repl.ReplaceAll(s, ""), session.MinKeySize, false)
		if err != nil {
			return nil, err
		}
		out[i] = k
	}
	return out, nil
}

// Operations returns the operations layer that every handler of this config shares.
func (a *App) Operations() *auth.Service { return a.svc }

// Interface guards
var (
	_ caddy.App          = (*App)(nil)
	_ caddy.Provisioner  = (*App)(nil)
	_ caddy.Validator    = (*App)(nil)
	_ caddy.CleanerUpper = (*App)(nil)
)
