// Package admin is the operators' API under /mfa/ on Caddy's admin endpoint: users, devices and
// the hardware pool, access keys, revocation, reset, the credential report, and the policy
// simulator and linter. Handlers decode, call one operation of auth, and encode; errors reach
// the caller through web's one adapter.
//
// It must never import Caddy (caddymodule mounts it), and never log or echo a password, seed,
// pre-shared key or access key secret.
package admin
