package policy

import (
	"sync"
	"testing"
	"time"
)

// TestStatementCounts: Record counts the deciding statement only, with no allocation; parallel
// requests lose no count; statements without a Sid are named by their place; MergeStats adds up
// the same statement of several sets.
func TestStatementCounts(t *testing.T) {
	doc := `{"Statement": [
		{"Sid": "NoGuests", "Effect": "Deny", "Condition": {"StringEquals": {"user:Groups": "guests"}}},
		{"Effect": "Allow", "Condition": {"Null": {"user:Id": "false"}}},
		{"Sid": "Never", "Effect": "Allow", "Condition": {"StringEquals": {"user:Id": "nobody"}}}]}`
	compile := func() *Set {
		d, err := Parse("p.json", []byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		s, err := Compile(d)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s, other := compile(), compile()
	now := time.Now()
	member := &Context{AuthType: AuthSession, UserID: "a", Time: now}
	guest := &Context{AuthType: AuthSession, UserID: "g", Groups: []string{"guests"}, Time: now}
	anonymous := &Context{Time: now}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				s.Record(s.Evaluate(member))
			}
		}()
	}
	wg.Wait()
	s.Record(s.Evaluate(guest))
	s.Record(s.Evaluate(anonymous))
	other.Record(other.Evaluate(member))
	if n := testing.AllocsPerRun(100, func() { s.Record(s.Evaluate(member)) }); n != 0 {
		t.Errorf("Record allocates %v times", n)
	}
	want := []StatementStat{
		{Ref: StatementRef{Sid: "NoGuests", Source: "p.json"}, Effect: "Deny", Decided: 1},
		{Ref: StatementRef{Sid: "#2", Source: "p.json"}, Effect: "Allow", Decided: 8000 + 100 + 1 + 1}, // AllocsPerRun runs once more
		{Ref: StatementRef{Sid: "Never", Source: "p.json"}, Effect: "Allow", Decided: 0},
	}
	got := MergeStats(s, other)
	if len(got) != len(want) {
		t.Fatalf("%+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("statement %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
