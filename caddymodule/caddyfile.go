package caddymodule

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
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

// The helpers below serve both Caddyfile forms: the global option (caddyfile_app.go) and the
// directive.

// noBlockArgs refuses arguments between a block's key and its opening brace.
func noBlockArgs(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	return nil
}

// appendArgs adds the key's arguments to dst, a list the key may build over several lines;
// the list must not end up empty.
func appendArgs(d *caddyfile.Dispenser, dst *[]string) error {
	*dst = append(*dst, d.RemainingArgs()...)
	if len(*dst) == 0 {
		return d.ArgErr()
	}
	return nil
}

// unknownKey names the block and the key it does not know.
func unknownKey(d *caddyfile.Dispenser, block string) error {
	return d.Errf("%s: unknown key %q", block, d.Val())
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

// onePositiveInt reads a count whose zero would mean "the default" in JSON: written out in a
// Caddyfile, 0 is a mistake, not a wish for the default.
func onePositiveInt(d *caddyfile.Dispenser, dst *int) error {
	key := d.Val()
	if err := oneInt(d, dst); err != nil {
		return err
	}
	if *dst < 1 {
		return d.Errf("%s: %d is not 1 or more", key, *dst)
	}
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
//		remember_device <duration>
//		audience <name>
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
		case "audience":
			if err = oneString(d, &h.Audience); err == nil && !validAudience(h.Audience) {
				return d.Errf("audience: %q: want 1 to 253 lower-case letters, digits and . _ : -", h.Audience)
			}
		case "policy":
			files := d.RemainingArgs()
			if len(files) == 0 {
				return d.ArgErr()
			}
			h.Policies = append(h.Policies, files...)
		// require and methods are checked here as well as in Handler.Validate, for JSON
		// configs: a Caddyfile's mistake is then refused at adapt time, with its line.
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
					return d.Errf("methods: unknown method %q (want virtual, hardware, webauthn, sms, recovery or remembered)", m)
				}
			}
		case "groups":
			err = appendArgs(d, &h.Groups)
		case "remember_device":
			err = oneDuration(d, &h.RememberDevice)
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
	_ caddyfile.Unmarshaler = (*Handler)(nil)
)
