package lockout

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-mfa/caddy-mfa/store"
	"github.com/caddy-mfa/caddy-mfa/store/caddystore"
	"github.com/caddy-mfa/caddy-mfa/store/storetest"
)

func TestLockoutDoublesAndResets(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	l := New(newTestStore(t), c.now, Policy{MaxFailures: 3, BaseDelay: 30 * time.Second, MaxDelay: 100 * time.Second})
	fail := func(n int) time.Duration {
		var last time.Duration
		for range n {
			a, err := l.Reserve(ctx, "alice")
			if err != nil {
				t.Fatal(err)
			}
			last = a.Locked()
		}
		return last
	}
	if d := fail(2); d != 0 {
		t.Fatalf("locked after 2 of 3 failures: %v", d)
	}
	if d := fail(1); d != 30*time.Second {
		t.Fatalf("first lock = %v, want 30s", d)
	}
	var le *LockedError
	if _, err := l.Reserve(ctx, "alice"); !errors.As(err, &le) || !errors.Is(err, ErrLocked) || le.RetryAfter != 30*time.Second {
		t.Fatalf("an attempt while locked: %v", err)
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
	c.advance(61 * time.Second)
	if d := fail(3); d != 100*time.Second {
		t.Fatalf("third lock = %v, want the 100s cap", d)
	}
	if err := l.Clear(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if d, _ := l.LockedFor(ctx, "alice"); d != 0 {
		t.Fatalf("a success did not clear the lock: %v", d)
	}
	if d := fail(3); d != 30*time.Second {
		t.Fatalf("after a success the delay starts again at the base: %v", d)
	}
}

func TestLockoutForgivesAndReleases(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	l := New(newTestStore(t), c.now, Policy{MaxFailures: 3, BaseDelay: 30 * time.Second, MaxDelay: time.Hour})
	reserve := func() *Attempt {
		t.Helper()
		a, err := l.Reserve(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	reserve()
	reserve()
	if err := reserve().Forgive(ctx); err != nil { // the third passed: the count starts again
		t.Fatal(err)
	}
	reserve()
	unchecked := reserve()
	if err := unchecked.Release(ctx); err != nil { // never checked: given back
		t.Fatal(err)
	}
	if a := reserve(); a.Locked() != 0 {
		t.Fatal("a released attempt still counted")
	}
	if a := reserve(); a.Locked() != 30*time.Second {
		t.Fatal("the third counted attempt did not lock")
	}
}

// checkedAtOnce sends n wrong codes for alice at once, alternating between the Lockouts (the
// nodes), and returns how many were checked; every other must be refused as locked.
func checkedAtOnce(t *testing.T, n int, nodes ...*Lockout) int {
	t.Helper()
	var checked atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		l := nodes[i%len(nodes)]
		wg.Go(func() {
			<-start
			_, err := l.Reserve(context.Background(), "alice")
			if errors.Is(err, ErrLocked) {
				return
			}
			if err != nil {
				t.Error(err)
				return
			}
			checked.Add(1) // here the gateway checks the (wrong) code: nothing to forgive
		})
	}
	close(start)
	wg.Wait()
	return int(checked.Load())
}

func TestLockoutCannotBeOutrunOnCaddyStorage(t *testing.T) {
	root := t.TempDir()
	c := &clock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	p := Policy{MaxFailures: 5, BaseDelay: time.Minute, MaxDelay: time.Hour}
	var nodes []*Lockout
	for range 2 { // two Caddy instances sharing one storage folder
		nodes = append(nodes, New(caddystore.New(&certmagic.FileStorage{Path: filepath.Join(root, "shared")}, "mfa"), c.now, p))
	}
	if n := checkedAtOnce(t, 40, nodes...); n != 5 {
		t.Fatalf("40 wrong codes at once with max_failures 5: %d were checked", n)
	}
	c.advance(61 * time.Second)
	if n := checkedAtOnce(t, 40, nodes...); n != 5 {
		t.Fatalf("after the lock, 40 more at once: %d were checked", n)
	}
}

// clock is the fake time the lockout tests move by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestStore(t testing.TB) store.Store {
	return caddystore.New(&certmagic.FileStorage{Path: t.TempDir()}, "mfa")
}

// TestLockoutCannotBeOutrunOnRedis: on each Redis topology (single node, Cluster, Sentinel),
// two nodes' wrong codes at once add up to one count.
func TestLockoutCannotBeOutrunOnRedis(t *testing.T) {
	for _, topology := range storetest.RedisTopologies {
		t.Run(topology, func(t *testing.T) { lockoutOnRedis(t, topology) })
	}
}

func lockoutOnRedis(t *testing.T, topology string) {
	run := make([]byte, 6)
	_, _ = rand.Read(run)
	prefix := "mfa-lockout-" + hex.EncodeToString(run)
	c := &clock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	p := Policy{MaxFailures: 5, BaseDelay: time.Minute, MaxDelay: time.Hour}
	// Two nodes: two clients, two Lockouts, one Redis.
	a := New(storetest.RedisOn(t, topology, prefix), c.now, p)
	b := New(storetest.RedisOn(t, topology, prefix), c.now, p)
	if n := checkedAtOnce(t, 50, a, b); n != 5 {
		t.Fatalf("50 wrong codes at once on two nodes with max_failures 5: %d were checked", n)
	}
	if d, err := b.LockedFor(context.Background(), "alice"); err != nil || d != time.Minute {
		t.Fatalf("the lock as the other node reads it: %v, %v", d, err)
	}
	c.advance(61 * time.Second)
	if n := checkedAtOnce(t, 50, a, b); n != 5 {
		t.Fatalf("after the lock, 50 more: %d were checked", n)
	}
	if d, _ := a.LockedFor(context.Background(), "alice"); d != 2*time.Minute {
		t.Fatalf("the second lock: %v, want 2m", d)
	}
}
