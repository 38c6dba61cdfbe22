// Package e2e tests caddy-mfa from the outside: the real binary built from cmd/caddy, the demo's
// own Caddyfile, codes made by oathtool and pages clicked through in headless Chromium. The tools
// must be installed (make test installs them); a missing one fails the tests, never skips them.
package e2e
