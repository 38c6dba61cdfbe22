package caddymodule

import (
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

// The global `mfa` option: the App's Caddyfile form, one function per block.

func parseGlobalOption(d *caddyfile.Dispenser, _ any) (any, error) {
	app := new(App)
	if err := app.UnmarshalCaddyfile(d); err != nil {
		return nil, err
	}
	return httpcaddyfile.App{Name: "mfa", Value: caddyconfig.JSON(app, nil)}, nil
}

// UnmarshalCaddyfile reads the global `mfa` option. Syntax (every key optional):
//
//	mfa {
//		issuer <name>
//		storage caddy|redis <url>
//		encryption_key <key> [<older key>...]
//		signing_keys <key> [<key>...]
//		max_devices <n>
//		enrollment required|optional
//		totp {
//			skew <steps>
//			resync_window <steps>
//		}
//		session {
//			cookie_name <name>
//			idle <duration>
//			absolute <duration>
//		}
//		session_tokens {
//			default <duration>
//			min <duration>
//			max <duration>
//		}
//		lockout {
//			max_failures <n>
//			base_delay <duration>
//			max_delay <duration>
//		}
//		webauthn {
//			rp_id <host>
//			rp_name <name>
//			origins <origin>...
//			user_verification required|preferred|discouraged
//			passwordless on|off
//			allowed_aaguids <uuid>...
//			backup_eligible allow|deny
//		}
//		sms {
//			webhook <url>
//			code_ttl <duration>
//		}
//		user <name> <bcrypt hash> {
//			groups <group>...
//		}
//	}
func (a *App) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the option name
	if d.NextArg() {
		return d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch key := d.Val(); key {
		case "issuer":
			err = oneString(d, &a.Issuer)
		case "storage":
			err = a.unmarshalStorage(d)
		case "encryption_key":
			if a.EncryptionKey = d.RemainingArgs(); len(a.EncryptionKey) == 0 {
				err = d.ArgErr()
			}
		case "signing_keys":
			if a.SigningKeys = d.RemainingArgs(); len(a.SigningKeys) == 0 {
				err = d.ArgErr()
			}
		case "max_devices":
			a.MaxDevices = new(int)
			if err = oneInt(d, a.MaxDevices); err == nil && (*a.MaxDevices < 1 || *a.MaxDevices > 100) {
				err = d.Errf("max_devices: %d is not between 1 and 100", *a.MaxDevices)
			}
		case "enrollment":
			err = a.unmarshalEnrollment(d)
		case "totp":
			a.TOTP = new(TOTPConfig)
			err = a.TOTP.unmarshalCaddyfile(d)
		case "session":
			a.Session = new(SessionConfig)
			err = a.Session.unmarshalCaddyfile(d)
		case "session_tokens":
			a.SessionTokens = new(SessionTokensConfig)
			err = a.SessionTokens.unmarshalCaddyfile(d)
		case "lockout":
			a.Lockout = new(LockoutConfig)
			err = a.Lockout.unmarshalCaddyfile(d)
		case "webauthn":
			a.WebAuthn = new(WebAuthnConfig)
			err = a.WebAuthn.unmarshalCaddyfile(d)
		case "sms":
			a.SMS = new(SMSConfig)
			err = a.SMS.unmarshalCaddyfile(d)
		case "user":
			err = a.unmarshalUser(d)
		case "role":
			err = a.unmarshalRole(d)
		default:
			err = d.Errf("unknown mfa option %q", key)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// unmarshalStorage reads `storage caddy` or `storage redis <url>`.
func (a *App) unmarshalStorage(d *caddyfile.Dispenser) error {
	args := d.RemainingArgs()
	switch {
	case len(args) == 1 && args[0] == "caddy":
		a.Storage = &StorageConfig{Backend: "caddy"}
	case len(args) == 2 && args[0] == "redis":
		a.Storage = &StorageConfig{Backend: "redis", URL: args[1]}
	default:
		return d.Errf("storage: want caddy, or redis <url>; got %q", strings.Join(args, " "))
	}
	return nil
}

// unmarshalEnrollment applies Validate's rule at once, so that the error names the line.
func (a *App) unmarshalEnrollment(d *caddyfile.Dispenser) error {
	if err := oneString(d, &a.Enrollment); err != nil {
		return err
	}
	if err := checkEnrollment(a.Enrollment); err != nil {
		return d.WrapErr(err)
	}
	return nil
}

func (t *TOTPConfig) unmarshalCaddyfile(d *caddyfile.Dispenser) error {
	if err := noBlockArgs(d); err != nil {
		return err
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch d.Val() {
		case "skew":
			var n int // a pointer, so that an explicit 0 differs from the default 1
			err = oneInt(d, &n)
			t.Skew = &n
		case "resync_window":
			err = onePositiveInt(d, &t.ResyncWindow)
		default:
			err = unknownKey(d, "totp")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *SessionConfig) unmarshalCaddyfile(d *caddyfile.Dispenser) error {
	if err := noBlockArgs(d); err != nil {
		return err
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch d.Val() {
		case "cookie_name":
			err = oneString(d, &s.CookieName)
		case "idle":
			err = oneDuration(d, &s.Idle)
		case "absolute":
			err = oneDuration(d, &s.Absolute)
		default:
			err = unknownKey(d, "session")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (t *SessionTokensConfig) unmarshalCaddyfile(d *caddyfile.Dispenser) error {
	if err := noBlockArgs(d); err != nil {
		return err
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch d.Val() {
		case "default":
			err = oneDuration(d, &t.Default)
		case "min":
			err = oneDuration(d, &t.Min)
		case "max":
			err = oneDuration(d, &t.Max)
		default:
			err = unknownKey(d, "session_tokens")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (l *LockoutConfig) unmarshalCaddyfile(d *caddyfile.Dispenser) error {
	if err := noBlockArgs(d); err != nil {
		return err
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch d.Val() {
		case "max_failures":
			err = onePositiveInt(d, &l.MaxFailures)
		case "base_delay":
			err = oneDuration(d, &l.BaseDelay)
		case "max_delay":
			err = oneDuration(d, &l.MaxDelay)
		default:
			err = unknownKey(d, "lockout")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (w *WebAuthnConfig) unmarshalCaddyfile(d *caddyfile.Dispenser) error {
	if err := noBlockArgs(d); err != nil {
		return err
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch d.Val() {
		case "rp_id":
			err = oneString(d, &w.RPID)
		case "rp_name":
			err = oneString(d, &w.RPName)
		case "user_verification":
			err = oneString(d, &w.UserVerification)
		case "passwordless":
			err = oneString(d, &w.Passwordless)
		case "allowed_aaguids":
			err = appendArgs(d, &w.AllowedAAGUIDs)
		case "backup_eligible":
			err = oneString(d, &w.BackupEligible)
		case "origins":
			err = appendArgs(d, &w.Origins)
		default:
			err = unknownKey(d, "webauthn")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// unmarshalCaddyfile insists on the webhook here, not only in Validate: an sms block without one
// is a Caddyfile mistake with a line to name.
func (s *SMSConfig) unmarshalCaddyfile(d *caddyfile.Dispenser) error {
	if err := noBlockArgs(d); err != nil {
		return err
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch d.Val() {
		case "webhook":
			err = oneString(d, &s.Webhook)
		case "code_ttl":
			err = oneDuration(d, &s.CodeTTL)
		default:
			err = unknownKey(d, "sms")
		}
		if err != nil {
			return err
		}
	}
	if s.Webhook == "" {
		return d.Err("sms: webhook is required")
	}
	return nil
}

// unmarshalUser reads `user <name> <bcrypt hash>` and its optional groups block.
func (a *App) unmarshalUser(d *caddyfile.Dispenser) error {
	var u UserConfig
	if !d.Args(&u.Name, &u.PasswordHash) || d.NextArg() {
		return d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch d.Val() {
		case "groups":
			if err := appendArgs(d, &u.Groups); err != nil {
				return err
			}
		default:
			// Named by the user, never by the token before the brace: that is the password hash.
			return d.Errf("user %s: unknown key %q", u.Name, d.Val())
		}
	}
	a.Users = append(a.Users, u)
	return nil
}

// Interface guards
var (
	_ caddyfile.Unmarshaler = (*App)(nil)
)
