package caddymodule

// The `caddy mfa` command registers itself; building caddy-mfa into Caddy brings it along.
import _ "github.com/caddy-mfa/caddy-mfa/caddymodule/cli"
