package factors

import (
	"context"
	"testing"
	"time"
)

func TestLockoutDoublesAndResets(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	l := NewLockout(newTestStore(t), c.now, LockoutPolicy{MaxFailures: 3, BaseDelay: 30 * time.Second, MaxDelay: 100 * time.Second})
	fail := func(n int) time.Duration {
		var last time.Duration
		for range n {
			d, err := l.Fail(ctx, "alice")
			if err != nil {
				t.Fatal(err)
			}
			last = d
		}
		return last
	}
	if d := fail(2); d != 0 {
		t.Fatalf("locked after 2 of 3 failures: %v", d)
	}
	if d := fail(1); d != 30*time.Second {
		t.Fatalf("first lock = %v, want 30s", d)
	}
	if d, _ := l.LockedFor(ctx, "alice"); d != 30*time.Second {
		t.Fatalf("LockedFor = %v", d)
	}
	if d, _ := l.LockedFor(ctx, "bob"); d != 0 {
		t.Fatalf("bob is locked by alice's failures: %v", d)
	}
	c.advance(31 * time.Second)
	if d, _ := l.LockedFor(ctx, "alice"); d != 0 {
		t.Fatalf("still locked after the delay: %v", d)
	}
	if d := fail(3); d != 60*time.Second {
		t.Fatalf("second lock = %v, want 60s (doubled)", d)
	}
	if d := fail(3); d != 100*time.Second {
		t.Fatalf("third lock = %v, want the 100s cap", d)
	}
	if err := l.Succeed(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if d, _ := l.LockedFor(ctx, "alice"); d != 0 {
		t.Fatalf("a success did not clear the lock: %v", d)
	}
	if d := fail(3); d != 30*time.Second {
		t.Fatalf("after a success the delay starts again at the base: %v", d)
	}
}
