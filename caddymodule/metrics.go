package caddymodule

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are caddy-mfa's Prometheus counters on Caddy's metrics registry.
type metrics struct {
	verifications *prometheus.CounterVec
	decisions     map[string]prometheus.Counter // resolved once: Decision is on every request
	lockouts      prometheus.Counter
	tokens        prometheus.Counter
}

func newMetrics(reg *prometheus.Registry) (*metrics, error) {
	m := &metrics{
		verifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "caddy", Subsystem: "mfa", Name: "verifications_total",
			Help: "Second-factor checks, by factor kind (virtual, hardware, webauthn, sms, recovery) and outcome (success, invalid, replayed, throttled).",
		}, []string{"method", "outcome"}),
		lockouts: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "caddy", Subsystem: "mfa", Name: "lockouts_total", Help: "Users locked out after too many failed factor checks.",
		}),
		tokens: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "caddy", Subsystem: "mfa", Name: "tokens_issued_total", Help: "Session tokens issued by GetSessionToken.",
		}),
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

func (m *metrics) Verification(method, outcome string) {
	m.verifications.WithLabelValues(method, outcome).Inc()
}
func (m *metrics) Decision(outcome string) { m.decisions[outcome].Inc() }
func (m *metrics) Lockout()                { m.lockouts.Inc() }
func (m *metrics) TokenIssued()            { m.tokens.Inc() }
