// Package gateway is caddy-mfa in plain net/http. It holds:
//
//   - the gate that every request passes: canonical form first (canonical.go: one spelling of
//     method and path, written back, so the policy judges what the upstream acts on), then
//     credential -> request context -> policy decision -> pass on with identity headers
//     (headers.go) or challenge (gate.go, caller.go);
//   - the site served under the prefix: sign-in, second factors, devices, session tokens, as a
//     JSON API (api.go, tokens.go, webauthn.go, sms.go) and HTML pages (pages*.go), with every
//     body bounded (bodylimit.go) and return paths kept on the site (returnpath.go);
//   - the operators' API on Caddy's admin endpoint (admin*.go);
//   - the operations all three share (services.go, lifecycle.go, enrolment.go: who may add a device),
//     the one factor check that reserves, verifies, forgives, audits and counts (attempt.go),
//     the address and account throttles (throttle.go, accountthrottle.go), SPEC's error bodies
//     (errors.go) and the metrics interface (metrics.go).
//
// It must never import Caddy, so it can be tested with httptest and a fake clock and mounted in
// any server. It must never log or echo a password, code, secret, cookie or token.
package gateway
