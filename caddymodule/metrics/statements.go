package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// StatementSource calls each once for every policy statement of the running config, with the
// requests it decided; the same statement (policy, sid, effect) never twice.
type StatementSource func(each func(policy, sid, effect string, decided uint64))

// statements exports the per-statement counters the policy engine keeps (one atomic each, on
// the request path) at scrape time: one series per statement of the config, so cardinality is
// bounded by the policies an operator wrote.
type statements struct {
	desc   *prometheus.Desc
	source StatementSource
}

// RegisterStatements registers caddy_mfa_statement_matches_total with reg, read from source.
func RegisterStatements(reg *prometheus.Registry, source StatementSource) error {
	if reg == nil {
		return nil
	}
	return reg.Register(&statements{source: source, desc: prometheus.NewDesc(
		prometheus.BuildFQName("caddy", "mfa", "statement_matches_total"),
		"Requests each policy statement decided (the first matching Deny, else the first matching Allow), by policy file, Sid (#N, its place, when it has none) and effect.",
		[]string{"policy", "sid", "effect"}, nil)})
}

// Describe implements prometheus.Collector.
func (s *statements) Describe(ch chan<- *prometheus.Desc) { ch <- s.desc }

// Collect implements prometheus.Collector.
func (s *statements) Collect(ch chan<- prometheus.Metric) {
	s.source(func(policy, sid, effect string, decided uint64) {
		ch <- prometheus.MustNewConstMetric(s.desc, prometheus.CounterValue, float64(decided), policy, sid, effect)
	})
}
