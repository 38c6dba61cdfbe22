// Package gate is the request path, the one path that must stay short and fast: canonical form
// first (package canonical: one spelling of method, path and host, written back, so the policy
// judges what the upstream acts on), then credential -> request context -> policy decision ->
// pass on with the identity headers (headers.go), or challenge (challenge.go). Requests under
// the prefix go to the site it was given.
//
// It allocates as little as it can and touches no storage when it allows. It must never import
// Caddy, and never log or echo a password, code, secret, cookie or token.
package gate
