package caddymodule

import (
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("mfa", parseGlobalOption)
	httpcaddyfile.RegisterHandlerDirective("mfa", parseHandlerDirective)
	// After forward_auth (and so after basic_auth): the identity an earlier handler sets must be
	// in place before the gate reads it, for the gate and for the gateway's own pages alike.
	httpcaddyfile.RegisterDirectiveOrder("mfa", httpcaddyfile.After, "forward_auth")
}

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
//		encryption_key <base64 or placeholder>
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
		key := d.Val()
		var err error
		switch key {
		case "issuer":
			err = oneString(d, &a.Issuer)
		case "storage":
			args := d.RemainingArgs()
			switch {
			case len(args) == 1 && args[0] == "caddy":
				a.Storage = &StorageConfig{Backend: "caddy"}
			case len(args) == 2 && args[0] == "redis":
				a.Storage = &StorageConfig{Backend: "redis", URL: args[1]}
			default:
				return d.Errf("storage: want caddy, or redis <url>; got %q", strings.Join(args, " "))
			}
		case "encryption_key":
			err = oneString(d, &a.EncryptionKey)
		case "signing_keys":
			a.SigningKeys = d.RemainingArgs()
			if len(a.SigningKeys) == 0 {
				return d.ArgErr()
			}
		case "max_devices":
			err = oneInt(d, &a.MaxDevices)
		case "enrollment":
			err = oneString(d, &a.Enrollment)
			if err == nil && a.Enrollment != "required" && a.Enrollment != "optional" {
				return d.Errf("enrollment: want required or optional, got %q", a.Enrollment)
			}
		case "totp":
			a.TOTP = new(TOTPConfig)
			err = block(d, map[string]func() error{
				"skew": func() error {
					var n int
					err := oneInt(d, &n)
					a.TOTP.Skew = &n
					return err
				},
				"resync_window": func() error { return oneInt(d, &a.TOTP.ResyncWindow) },
			})
		case "session":
			a.Session = new(SessionConfig)
			err = block(d, map[string]func() error{
				"cookie_name": func() error { return oneString(d, &a.Session.CookieName) },
				"idle":        func() error { return oneDuration(d, &a.Session.Idle) },
				"absolute":    func() error { return oneDuration(d, &a.Session.Absolute) },
			})
		case "session_tokens":
			a.SessionTokens = new(SessionTokensConfig)
			err = block(d, map[string]func() error{
				"default": func() error { return oneDuration(d, &a.SessionTokens.Default) },
				"min":     func() error { return oneDuration(d, &a.SessionTokens.Min) },
				"max":     func() error { return oneDuration(d, &a.SessionTokens.Max) },
			})
		case "lockout":
			a.Lockout = new(LockoutConfig)
			err = block(d, map[string]func() error{
				"max_failures": func() error { return oneInt(d, &a.Lockout.MaxFailures) },
				"base_delay":   func() error { return oneDuration(d, &a.Lockout.BaseDelay) },
				"max_delay":    func() error { return oneDuration(d, &a.Lockout.MaxDelay) },
			})
		case "webauthn":
			a.WebAuthn = new(WebAuthnConfig)
			err = block(d, map[string]func() error{
				"rp_id":             func() error { return oneString(d, &a.WebAuthn.RPID) },
				"rp_name":           func() error { return oneString(d, &a.WebAuthn.RPName) },
				"user_verification": func() error { return oneString(d, &a.WebAuthn.UserVerification) },
				"origins": func() error {
					a.WebAuthn.Origins = append(a.WebAuthn.Origins, d.RemainingArgs()...)
					if len(a.WebAuthn.Origins) == 0 {
						return d.ArgErr()
					}
					return nil
				},
			})
		case "sms":
			a.SMS = new(SMSConfig)
			err = block(d, map[string]func() error{
				"webhook":  func() error { return oneString(d, &a.SMS.Webhook) },
				"code_ttl": func() error { return oneDuration(d, &a.SMS.CodeTTL) },
			})
			if err == nil && a.SMS.Webhook == "" {
				return d.Err("sms: webhook is required")
			}
		case "user":
			var u UserConfig
			if !d.Args(&u.Name, &u.PasswordHash) || d.NextArg() {
				return d.ArgErr()
			}
			err = block(d, map[string]func() error{
				"groups": func() error {
					u.Groups = append(u.Groups, d.RemainingArgs()...)
					if len(u.Groups) == 0 {
						return d.ArgErr()
					}
					return nil
				},
			})
			a.Users = append(a.Users, u)
		default:
			return d.Errf("unknown mfa option %q", key)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// block reads a { ... } block whose keys are handled by the given functions.
func block(d *caddyfile.Dispenser, keys map[string]func() error) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	outer := d.Val()
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		f, ok := keys[d.Val()]
		if !ok {
			return d.Errf("%s: unknown key %q", outer, d.Val())
		}
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

func oneString(d *caddyfile.Dispenser, dst *string) error {
	key := d.Val()
	if !d.NextArg() {
		return d.ArgErr()
	}
	*dst = d.Val()
	if d.NextArg() {
		return d.Errf("%s: want one value", key)
	}
	return nil
}

func oneInt(d *caddyfile.Dispenser, dst *int) error {
	key := d.Val()
	var s string
	if err := oneString(d, &s); err != nil {
		return err
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return d.Errf("%s: %q is not a whole number", key, s)
	}
	*dst = n
	return nil
}

func oneDuration(d *caddyfile.Dispenser, dst *caddy.Duration) error {
	key := d.Val()
	var s string
	if err := oneString(d, &s); err != nil {
		return err
	}
	dur, err := caddy.ParseDuration(s)
	if err != nil || dur <= 0 {
		return d.Errf("%s: %q is not a positive duration (like 90s, 15m, 12h)", key, s)
	}
	*dst = caddy.Duration(dur)
	return nil
}

func parseHandlerDirective(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(Handler)
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return m, err
}

// UnmarshalCaddyfile reads the `mfa` directive. Syntax:
//
//	mfa [<matcher>] {
//		prefix <path>
//		identity <placeholder>
//		policy <file>...
//		require mfa
//		max_age <duration>
//		methods <method>...
//		groups <group>...
//		allow_access_keys
//	}
//
// With no policy and no shortcut it requires MFA.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		key := d.Val()
		var err error
		switch key {
		case "prefix":
			err = oneString(d, &h.Prefix)
		case "identity":
			err = oneString(d, &h.Identity)
		case "policy":
			files := d.RemainingArgs()
			if len(files) == 0 {
				return d.ArgErr()
			}
			h.Policies = append(h.Policies, files...)
		case "require":
			if err = oneString(d, &h.Require); err == nil && h.Require != "mfa" {
				return d.Errf("require: want mfa, got %q", h.Require)
			}
		case "max_age":
			err = oneDuration(d, &h.MaxAge)
		case "methods":
			h.Methods = append(h.Methods, d.RemainingArgs()...)
			if len(h.Methods) == 0 {
				return d.ArgErr()
			}
			for _, m := range h.Methods {
				if !isMethod(m) {
					return d.Errf("methods: unknown method %q (want virtual, hardware, webauthn, sms or recovery)", m)
				}
			}
		case "groups":
			h.Groups = append(h.Groups, d.RemainingArgs()...)
			if len(h.Groups) == 0 {
				return d.ArgErr()
			}
		case "allow_access_keys":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.AllowAccessKeys = true
		default:
			return d.Errf("unknown mfa subdirective %q", key)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Interface guards
var (
	_ caddyfile.Unmarshaler = (*App)(nil)
	_ caddyfile.Unmarshaler = (*Handler)(nil)
)
