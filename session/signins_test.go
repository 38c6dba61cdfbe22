package session

import (
	"fmt"
	"testing"
	"time"
)

// TestSignInRecordsStayBounded: a script signing in over and over leaves at most MaxSignIns
// records, the most recently seen, and ended sign-ins go when a new one comes.
func TestSignInRecordsStayBounded(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	s := NewSignIns(fileStore(t), func() time.Time { return now })
	ctx := t.Context()
	ended := Claims{User: "alice", SignInID: NewSessionID(), Issued: now}
	if err := s.Seen(ctx, &ended, now.Add(time.Hour), "192.0.2.1", "Old"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Hour) // that sign-in has ended
	var last SessionID
	for i := range MaxSignIns + 5 {
		now = now.Add(time.Second)
		c := Claims{User: "alice", SignInID: NewSessionID(), Issued: now}
		if err := s.Seen(ctx, &c, now.Add(12*time.Hour), "192.0.2.1", fmt.Sprintf("Agent %d", i)); err != nil {
			t.Fatal(err)
		}
		last = c.SignInID
	}
	recs, err := s.List(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != MaxSignIns || recs[0].ID != last || recs[len(recs)-1].UserAgent != "Agent 5" {
		t.Fatalf("%d records, newest %v (want %v), oldest %q", len(recs), recs[0].ID, last, recs[len(recs)-1].UserAgent)
	}
	for _, r := range recs {
		if r.UserAgent == "Old" {
			t.Fatal("an ended sign-in is still listed")
		}
	}
	other, _ := s.List(ctx, "bob")
	if len(other) != 0 {
		t.Fatalf("bob has %d records", len(other))
	}
}
