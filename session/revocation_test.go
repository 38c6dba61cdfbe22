package session

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-mfa/caddy-mfa/store"
	"github.com/caddy-mfa/caddy-mfa/store/caddystore"
)

func fileStore(t *testing.T) store.Store {
	return caddystore.New(&certmagic.FileStorage{Path: t.TempDir()}, "mfa")
}

// pollers reload nodes from the store in a loop on several goroutines (as Run does on a
// timer), counting their reloads, until stop.
type pollers struct {
	done  chan struct{}
	wg    sync.WaitGroup
	count []atomic.Int64
}

func polling(ctx context.Context, each int, nodes ...*Revocations) *pollers {
	p := &pollers{done: make(chan struct{}), count: make([]atomic.Int64, each*len(nodes))}
	for i := range p.count {
		r := nodes[i%len(nodes)]
		p.wg.Go(func() {
			for {
				select {
				case <-p.done:
					return
				default:
					_ = r.Reload(ctx)
					p.count[i].Add(1)
				}
			}
		})
	}
	return p
}

func (p *pollers) stop() { close(p.done); p.wg.Wait() }

// whileInFlight calls check until every poller has finished two reloads more, so that any
// reload that had read the store before now has also installed what it read.
func (p *pollers) whileInFlight(check func() bool) bool {
	target := make([]int64, len(p.count))
	for i := range p.count {
		target[i] = p.count[i].Load() + 2
	}
	for i := range p.count {
		for p.count[i].Load() < target[i] {
			if !check() {
				return false
			}
			runtime.Gosched()
		}
	}
	return check()
}

// seedRevocations stores a list as a busy site has it, n users revoked: reading it takes long
// enough that a poll is often still decoding an old list when a revocation completes.
func seedRevocations(t *testing.T, st store.Store, at time.Time, n int) {
	l := revocationList{Users: map[string]int64{}}
	for i := range n {
		l.Users[fmt.Sprintf("seed-user-%d", i)] = at.UnixMilli()
	}
	if err := store.PutJSON(t.Context(), st, revocationsKey, &l); err != nil {
		t.Fatal(err)
	}
}

// frozen is a clock stopped in one millisecond: every credential, revocation and use below
// happens in it.
func frozen() func() time.Time {
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	return func() time.Time { return at }
}

// An attacker uses a token in the same millisecond as its revocation, again and again, while
// polls that read the store before the revocation finish around it: the revocation must hold
// from the moment it returns, every time.
func TestRevocationHoldsInTheMillisecondItIsMadeDespiteRacingPolls(t *testing.T) {
	ctx := t.Context()
	now := frozen()
	st := fileStore(t)
	seedRevocations(t, st, now(), 1000)
	r := NewRevocations(st, now, 48*time.Hour)
	p := polling(ctx, 3, r)
	defer p.stop()
	for i := range 15 {
		byUser := Claims{User: fmt.Sprintf("user%d", i), SessionID: NewSessionID(), SignInID: NewSessionID(), Issued: now(), SignedIn: now(), Expires: now().Add(time.Hour)}
		bySignIn := byUser
		bySignIn.User, bySignIn.SignInID = "someone", NewSessionID()
		if r.Revoked(&byUser) || r.Revoked(&bySignIn) {
			t.Fatal("revoked before any revocation (test is wrong)")
		}
		if err := r.RevokeUser(ctx, byUser.User); err != nil {
			t.Fatal(err)
		}
		if !p.whileInFlight(func() bool { return r.Revoked(&byUser) }) {
			t.Fatalf("round %d: a token used in the millisecond of its user's revocation still holds", i)
		}
		if err := r.RevokeSignIn(ctx, bySignIn.SignInID, bySignIn.Expires); err != nil {
			t.Fatal(err)
		}
		if !p.whileInFlight(func() bool { return r.Revoked(&bySignIn) }) {
			t.Fatalf("round %d: a cookie used in the millisecond of its sign-out still holds", i)
		}
	}
}

// Two nodes on one store revoke at once, each while both poll: each revocation holds on its
// node the moment it returns, and after a poll on the other node too.
func TestRevocationsOfTwoNodesAtOnce(t *testing.T) {
	ctx := t.Context()
	now := frozen()
	st := fileStore(t)
	seedRevocations(t, st, now(), 1000)
	a, b := NewRevocations(st, now, 48*time.Hour), NewRevocations(st, now, 48*time.Hour)
	p := polling(ctx, 1, a, b)
	var wg sync.WaitGroup
	failures := make(chan string, 200)
	for n, node := range []*Revocations{a, b, a, b} {
		wg.Go(func() {
			for i := range 10 {
				c := Claims{User: fmt.Sprintf("user%d-%d", n, i), Issued: now(), SignedIn: now(), Expires: now().Add(time.Hour)}
				if err := node.RevokeUser(ctx, c.User); err != nil {
					failures <- err.Error()
					return
				}
				if !p.whileInFlight(func() bool { return node.Revoked(&c) }) {
					failures <- fmt.Sprintf("%s: revoked on this node, yet it holds here", c.User)
				}
			}
		})
	}
	wg.Wait()
	p.stop()
	close(failures)
	for f := range failures {
		t.Error(f)
	}
	for _, node := range []*Revocations{a, b} {
		if err := node.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		for n := range 4 {
			for i := range 10 {
				c := Claims{User: fmt.Sprintf("user%d-%d", n, i), Issued: now()}
				if !node.Revoked(&c) {
					t.Fatalf("%s: after a poll, a node does not know the other's revocation", c.User)
				}
			}
		}
	}
}

// A store rolled back to a backup (or wiped) must not bring back credentials that a running
// node has seen revoked; the next revocation writes them back for every node.
func TestRevocationsSurviveAnOlderStore(t *testing.T) {
	ctx := t.Context()
	c := newClock()
	st := fileStore(t)
	a := NewRevocations(st, c.now, 48*time.Hour)
	if err := a.RevokeUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	backup, err := st.Get(ctx, revocationsKey)
	if err != nil {
		t.Fatal(err)
	}
	victim := sampleClaims(c.t)
	victim.User = "bob"
	if err := a.RevokeSignIn(ctx, victim.SignInID, victim.Expires); err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, revocationsKey, backup); err != nil {
		t.Fatal(err)
	}
	if err := a.Reload(ctx); err != nil || !a.Revoked(&victim) {
		t.Fatalf("restoring an older list brought back a signed-out session (reload: %v)", err)
	}
	if err := st.Delete(ctx, revocationsKey); err != nil {
		t.Fatal(err)
	}
	if err := a.Reload(ctx); err != nil || !a.Revoked(&victim) {
		t.Fatalf("wiping the list brought back a signed-out session (reload: %v)", err)
	}
	b := NewRevocations(st, c.now, 48*time.Hour)
	if err := a.RevokeUser(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	if err := b.Reload(ctx); err != nil || !b.Revoked(&victim) {
		t.Fatalf("the next write did not put the lost revocation back in the store (reload: %v)", err)
	}
}

// A node whose clock is behind must not move a user's revocation earlier: the credentials
// issued between the two times would come back.
func TestRevocationTimesOnlyMoveForward(t *testing.T) {
	ctx := t.Context()
	ahead, behind := newClock(), newClock()
	ahead.advance(time.Minute)
	st := fileStore(t)
	a, b := NewRevocations(st, ahead.now, 48*time.Hour), NewRevocations(st, behind.now, 48*time.Hour)
	between := sampleClaims(behind.t.Add(30 * time.Second))
	if err := a.RevokeUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := b.RevokeUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	for name, node := range map[string]*Revocations{"a": a, "b": b} {
		if err := node.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		if !node.Revoked(&between) {
			t.Errorf("node %s: a later revocation was moved earlier by a node with a slow clock", name)
		}
	}
	// The same for a sign-out: a shorter deadline does not shorten a longer one.
	c := sampleClaims(behind.t)
	if err := a.RevokeSignIn(ctx, c.SignInID, c.Expires.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := b.RevokeSignIn(ctx, c.SignInID, c.Expires); err != nil {
		t.Fatal(err)
	}
	behind.advance(90 * time.Minute)
	if err := b.RevokeUser(ctx, "dave"); err != nil { // a write prunes what has expired
		t.Fatal(err)
	}
	if !b.Revoked(&c) {
		t.Fatal("a sign-out was dropped at the earlier of two deadlines")
	}
}

// A zero sign-in id names no sign-in: revoking it would void every credential made without one.
func TestRevokingNoSignInIsRefused(t *testing.T) {
	c := newClock()
	r := NewRevocations(fileStore(t), c.now, 48*time.Hour)
	if err := r.RevokeSignIn(t.Context(), SessionID{}, c.t.Add(time.Hour)); err == nil {
		t.Fatal("revoking the zero sign-in id was accepted")
	}
}

// A poll that finds the stored list as it last merged it does not decode it again (at 100,000
// entries that was 130 ms of CPU every poll on every node), nor does a revocation; each still
// takes in the next change made elsewhere.
func TestAnUnchangedListIsNotDecodedAgain(t *testing.T) {
	ctx := t.Context()
	c := newClock()
	st := fileStore(t)
	seedRevocations(t, st, c.t, 1000)
	a, b := NewRevocations(st, c.now, 48*time.Hour), NewRevocations(st, c.now, 48*time.Hour)
	if err := a.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(10, func() {
		if err := a.Reload(ctx); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 50 {
		t.Fatalf("a reload of an unchanged list of 1,000 entries made %.0f allocations: it was decoded", allocs)
	}
	// A revocation from the list as merged writes back every entry, without decoding it.
	if err := a.RevokeUser(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	stored, err := store.GetJSON[revocationList](ctx, st, revocationsKey)
	if err != nil || len(stored.Users) != 1001 {
		t.Fatalf("after a revocation from the merged list the store holds %d users (%v), want 1,001", len(stored.Users), err)
	}
	victim := sampleClaims(c.t)
	if err := b.RevokeUser(ctx, victim.User); err != nil {
		t.Fatal(err)
	}
	if err := a.Reload(ctx); err != nil || !a.Revoked(&victim) {
		t.Fatalf("a change after unchanged polls was not taken in (reload: %v)", err)
	}
	if got := len(a.current.Load().Users); got != 1002 {
		t.Fatalf("the node holds %d revoked users, want 1,002", got)
	}
}
