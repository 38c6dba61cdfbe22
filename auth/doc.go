// Package auth holds every operation of caddy-mfa: sign-in and sign-out, the one factor check
// (reserve the attempt, verify, forgive, audit, count: attempt.go), who may add a device
// (enrolment.go), the device lifecycle (devices.go, sms.go, keys.go), session tokens and access
// keys (tokens.go), the operators' calls (users.go, report.go), the attempt throttles, and the
// one constructor (New) that the Caddy app and every test harness build it with.
//
// Operations take plain values (a Caller, names, codes, an address) and return plain results
// and errors with SPEC's codes (Error); the rooms above (gate, site, admin) speak HTTP. It must
// never import net/http or Caddy, and never log or return a password, code, secret or token
// that it was given.
package auth
