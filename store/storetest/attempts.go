package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// runAttempts holds every backend to store.Attempts.Reserve, whether it reserves through Update
// or with a script of its own, and checks that attempts arriving at once on two nodes never get
// past the count.
func runAttempts(t *testing.T, newStore func(t *testing.T, name string) store.Store) {
	t.Run("AttemptsLockAndRelease", func(t *testing.T) { attemptsLockAndRelease(t, newStore(t, "attempts-lock")) })
	t.Run("AttemptsDoubleAndClear", func(t *testing.T) { attemptsDoubleAndClear(t, newStore(t, "attempts-double")) })
	t.Run("AttemptsAtOnceOnTwoNodes", func(t *testing.T) {
		attemptsAtOnce(t, newStore(t, "attempts-race"), newStore(t, "attempts-race"))
	})
}

var (
	attemptRule = store.AttemptPolicy{MaxFailures: 3, BaseDelay: 30 * time.Second, MaxDelay: 100 * time.Second}
	attemptT0   = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
)

func reserveAt(t *testing.T, s store.Store, user string, at time.Time) store.Reservation {
	t.Helper()
	r, err := store.ReserveAttempt(context.Background(), s, "lockout/"+user, at, attemptRule)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// attemptsLockAndRelease: the third attempt is checked and locks; a release gives back an
// unchecked attempt, but never lifts a lock.
func attemptsLockAndRelease(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i := range 2 {
		if r := reserveAt(t, s, "alice", attemptT0); !r.Granted || r.Locked != 0 {
			t.Fatalf("attempt %d of 3: %+v", i+1, r)
		}
	}
	last := reserveAt(t, s, "alice", attemptT0)
	if !last.Granted || last.Locked != 30*time.Second {
		t.Fatalf("the third attempt is checked and starts the lock: %+v", last)
	}
	later := attemptT0.Add(10 * time.Second)
	if r := reserveAt(t, s, "alice", later); r.Granted || r.Wait != 20*time.Second {
		t.Fatalf("an attempt while locked: %+v", r)
	}
	if d, err := store.LockedFor(ctx, s, "lockout/alice", later); err != nil || d != 20*time.Second {
		t.Fatalf("LockedFor = %v, %v", d, err)
	}
	if r := reserveAt(t, s, "bob", later); !r.Granted {
		t.Fatalf("bob is locked by alice's attempts: %+v", r)
	}
	if err := store.ReleaseAttempt(ctx, s, "lockout/alice", last); err != nil {
		t.Fatal(err)
	}
	if r := reserveAt(t, s, "alice", later); r.Granted {
		t.Fatalf("releasing the attempt that locked lifted the lock: %+v", r)
	}
	t1 := attemptT0.Add(31 * time.Second)
	if err := store.ReleaseAttempt(ctx, s, "lockout/alice", reserveAt(t, s, "alice", t1)); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if r := reserveAt(t, s, "alice", t1); !r.Granted || r.Locked != 0 {
			t.Fatalf("after a release, attempt %d: %+v", i+1, r)
		}
	}
}

// attemptsDoubleAndClear: each further lock doubles, up to the cap; clearing starts over.
func attemptsDoubleAndClear(t *testing.T, s store.Store) {
	at := attemptT0
	for _, want := range []time.Duration{30 * time.Second, 60 * time.Second, 100 * time.Second, 100 * time.Second} {
		var last store.Reservation
		for range 3 {
			last = reserveAt(t, s, "alice", at)
		}
		if !last.Granted || last.Locked != want {
			t.Fatalf("lock after %v: %+v, want %v", at.Sub(attemptT0), last, want)
		}
		at = at.Add(want + time.Second)
	}
	if err := s.Delete(context.Background(), "lockout/alice"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		reserveAt(t, s, "alice", at)
	}
	if r := reserveAt(t, s, "alice", at); r.Locked != 30*time.Second {
		t.Fatalf("after a success (cleared record) the lock starts at the base: %+v", r)
	}
}

// attemptsAtOnce: 40 attempts at once, half on each node, with max 5: exactly 5 granted.
func attemptsAtOnce(t *testing.T, a, b store.Store) {
	p := store.AttemptPolicy{MaxFailures: 5, BaseDelay: time.Minute, MaxDelay: time.Hour}
	round := func(at time.Time) (granted int, locked time.Duration) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 40 {
			node := []store.Store{a, b}[i%2]
			wg.Go(func() {
				<-start
				r, err := store.ReserveAttempt(context.Background(), node, "lockout/alice", at, p)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					t.Error(err)
				case r.Granted:
					granted++
					locked += r.Locked
				case r.Wait <= 0:
					t.Errorf("a refusal without a wait: %+v", r)
				}
			})
		}
		close(start)
		wg.Wait()
		return granted, locked
	}
	if g, l := round(attemptT0); g != 5 || l != time.Minute {
		t.Fatalf("40 attempts at once with max 5: %d granted, lock %v; want 5 and 1m", g, l)
	}
	if g, l := round(attemptT0.Add(61 * time.Second)); g != 5 || l != 2*time.Minute {
		t.Fatalf("after the lock, 40 more: %d granted, lock %v; want 5 and 2m", g, l)
	}
}
