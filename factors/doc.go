// Package factors verifies second factors: TOTP devices (virtual and hardware) with drift and
// one-time use of each time step, and the lockout that caps guessing. It must never log, return
// or keep in clear a seed or a code, and it must never import Caddy.
package factors
