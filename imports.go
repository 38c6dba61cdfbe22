// Package caddymfa is the module root: importing it registers caddy-mfa's Caddy modules,
// so `xcaddy build --with github.com/caddy-mfa/caddy-mfa` works.
package caddymfa

import (
	_ "github.com/caddy-mfa/caddy-mfa/caddymodule"
)
