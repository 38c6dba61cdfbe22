package policy

import "sync/atomic"

// Decisions per statement, counted where requests are really decided (the gate), not where
// they are simulated: each statement has its counter, allocated when the set is compiled, so
// counting is one atomic add.

// Record counts the statement that decided res, if one did.
func (s *Set) Record(res Result) {
	if res.By != nil {
		s.decided[res.By.at].Add(1)
	}
}

// StatementStat is how many requests one statement decided since the set was compiled.
type StatementStat struct {
	Ref     StatementRef
	Effect  string // Allow or Deny
	Decided uint64
}

// Stats lists every statement of the set, in order, with its count.
func (s *Set) Stats() []StatementStat {
	out := make([]StatementStat, len(s.statements))
	for i := range s.statements {
		effect := "Allow"
		if s.statements[i].deny {
			effect = "Deny"
		}
		out[i] = StatementStat{Ref: s.statements[i].ref, Effect: effect, Decided: s.decided[i].Load()}
	}
	return out
}

// newCounters gives each compiled statement its counter.
func (s *Set) newCounters() { s.decided = make([]atomic.Uint64, len(s.statements)) }

// MergeStats adds up the counts of the same statement (source, Sid and effect) in several
// sets, as when handlers share a policy file, keeping the order statements were first seen.
func MergeStats(sets ...*Set) []StatementStat {
	var out []StatementStat
	at := map[StatementRef]int{}
	for _, s := range sets {
		for _, st := range s.Stats() {
			id := StatementRef{Sid: st.Ref.Sid, Source: st.Ref.Source + "\x00" + st.Effect}
			if i, seen := at[id]; seen {
				out[i].Decided += st.Decided
				continue
			}
			at[id] = len(out)
			st.Ref.at = 0
			out = append(out, st)
		}
	}
	return out
}
