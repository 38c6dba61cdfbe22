package factors

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// The first enrolment's codes: issued once, never over a user's unspent codes, one set when
// many calls race.
func TestGenerateFirstIssuesOnlyToAUserWithoutCodes(t *testing.T) {
	ctx := context.Background()
	sealer, _ := store.NewSealer(bytes.Repeat([]byte{9}, store.KeySize))
	rc := NewRecoveryCodes(newTestStore(t), sealer, (&clock{}).now)
	first, err := rc.GenerateFirst(ctx, "alice")
	if err != nil || len(first) != RecoveryCodeCount {
		t.Fatalf("first codes: %d, %v", len(first), err)
	}
	if again, err := rc.GenerateFirst(ctx, "alice"); err != nil || again != nil {
		t.Fatalf("a user with codes got more: %v, %v", again, err)
	}
	for _, code := range first[:RecoveryCodeCount-1] {
		if err := rc.Use(ctx, "alice", code); err != nil {
			t.Fatalf("the first codes work: %v", err)
		}
	}
	if again, _ := rc.GenerateFirst(ctx, "alice"); again != nil {
		t.Fatal("one unspent code left, yet new codes were issued")
	}
	if err := rc.Use(ctx, "alice", first[RecoveryCodeCount-1]); err != nil {
		t.Fatal(err)
	}
	next, err := rc.GenerateFirst(ctx, "alice")
	if err != nil || len(next) != RecoveryCodeCount {
		t.Fatalf("a user whose codes are all spent gets new ones: %d, %v", len(next), err)
	}
}

func TestGenerateFirstRacingIssuesOneSet(t *testing.T) {
	ctx := context.Background()
	sealer, _ := store.NewSealer(bytes.Repeat([]byte{9}, store.KeySize))
	rc := NewRecoveryCodes(newTestStore(t), sealer, (&clock{}).now)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var sets [][]string
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes, err := rc.GenerateFirst(ctx, "alice")
			if err != nil {
				t.Error(err)
			}
			if codes != nil {
				mu.Lock()
				sets = append(sets, codes)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(sets) != 1 {
		t.Fatalf("%d sets issued, want 1", len(sets))
	}
	for _, code := range sets[0] {
		if err := rc.Use(ctx, "alice", code); err != nil {
			t.Fatalf("the one set issued is the one stored: %v", err)
		}
	}
}
