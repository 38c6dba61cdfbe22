// Package metrics is caddy-mfa's Prometheus counters on Caddy's metrics registry (SPEC section
// 9): what auth counts, with low-cardinality labels only, never a user.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the counters; they implement auth.Metrics.
type Metrics struct {
	verifications *prometheus.CounterVec
	decisions     map[string]prometheus.Counter // resolved once: Decision is on every request
	lockouts      prometheus.Counter
	tokens        *prometheus.CounterVec
}

// TokenKinds are the kind label's values of caddy_mfa_tokens_issued_total: a GetSessionToken
// token and an AssumeRole one. Any other kind counts as "other", so the label stays bounded.
var TokenKinds = []string{"session", "role"}

// New makes the counters and registers them with reg (nil: unregistered, for tests).
func New(reg *prometheus.Registry) (*Metrics, error) {
	m := &Metrics{
		verifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "caddy", Subsystem: "mfa", Name: "verifications_total",
			Help: "Second-factor checks, by factor kind (virtual, hardware, webauthn, sms, recovery) and outcome (success, invalid, replayed, throttled).",
		}, []string{"method", "outcome"}),
		lockouts: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "caddy", Subsystem: "mfa", Name: "lockouts_total", Help: "Users locked out after too many failed factor checks.",
		}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "caddy", Subsystem: "mfa", Name: "tokens_issued_total",
			Help: "Session tokens issued, by kind (session: GetSessionToken, role: AssumeRole).",
		}, []string{"kind"}),
	}
	decisions := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "mfa", Name: "decisions_total",
		Help: "Gate decisions, by outcome (allowed, challenged, denied, bad_credential, bad_request).",
	}, []string{"outcome"})
	m.decisions = map[string]prometheus.Counter{}
	for _, o := range []string{"allowed", "challenged", "denied", "bad_credential", "bad_request"} {
		m.decisions[o] = decisions.WithLabelValues(o)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.verifications, decisions, m.lockouts, m.tokens} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Verification counts one factor check.
func (m *Metrics) Verification(method, outcome string) {
	m.verifications.WithLabelValues(method, outcome).Inc()
}

// Decision counts one gate decision.
func (m *Metrics) Decision(outcome string) { m.decisions[outcome].Inc() }

// Lockout counts a user locked out.
func (m *Metrics) Lockout() { m.lockouts.Inc() }

// TokenIssued counts a session token minted, by kind.
func (m *Metrics) TokenIssued(kind string) {
	for _, k := range TokenKinds {
		if k == kind {
			m.tokens.WithLabelValues(kind).Inc()
			return
		}
	}
	m.tokens.WithLabelValues("other").Inc()
}
