// Package caddymodule is the only package that imports Caddy.
package caddymodule

import _ "github.com/caddyserver/caddy/v2"
