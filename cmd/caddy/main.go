// Command caddy is Caddy with its standard modules and caddy-mfa built in.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-mfa/caddy-mfa"
)

func main() {
	caddycmd.Main()
}
