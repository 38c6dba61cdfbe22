// Package caddymodule plugs caddy-mfa into Caddy: the `mfa` app (users, devices, keys, storage,
// factor settings), the `http.handlers.mfa` handler (the gate and the gateway's site), their
// Caddyfile syntax, the admin API routes and the `caddy mfa` commands.
//
// It is the only package of the project that imports Caddy: everything it wires together
// (the rooms gate, site and admin, and auth, policy, factors, identity, session, store below
// them) works without it. Provision wires the operations layer with auth.New, as every test
// harness does.
package caddymodule
