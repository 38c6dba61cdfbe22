// Package factors holds every second factor and the records behind them: MFA devices (virtual
// and hardware TOTP with drift and one-time use of each time step, SMS, WebAuthn security keys)
// with IAM's names, serials and limits; hardware seed import (CSV, PSKC) with rollback after a
// crash; recovery codes; and the lockout that caps guessing. A device's type is the method a
// policy sees (policy.Method*). It verifies and records; counting the attempt, auditing and
// answering HTTP are the gateway's.
//
// It must never log, return or keep in clear a seed or a code, and it must never import Caddy.
package factors
