package caddymodule

import (
	"sync"
	"time"

	"github.com/caddy-mfa/caddy-mfa/policy"
)

// policyBook is the compiled policies of this config's handlers: each statement counts the
// requests it decides, and the metrics and the admin API's stats read those counts from here.
// A config reload compiles new sets, so counts start again with the config.
type policyBook struct {
	mu    sync.Mutex
	sets  []*policy.Set
	since time.Time
}

// add records a handler's policy.
func (b *policyBook) add(s *policy.Set) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sets = append(b.sets, s)
}

// stats is every statement with its count, the same statement of several handlers added up,
// and since when they count.
func (b *policyBook) stats() (time.Time, []policy.StatementStat) {
	b.mu.Lock()
	sets := b.sets[:len(b.sets):len(b.sets)]
	b.mu.Unlock()
	return b.since, policy.MergeStats(sets...)
}

// each feeds the metrics (metrics.StatementSource).
func (b *policyBook) each(yield func(policy, sid, effect string, decided uint64)) {
	_, stats := b.stats()
	for _, st := range stats {
		yield(st.Ref.Source, st.Ref.Sid, st.Effect, st.Decided)
	}
}
