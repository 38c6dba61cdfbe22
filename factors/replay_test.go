package factors

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-mfa/caddy-mfa/store"
	"github.com/caddy-mfa/caddy-mfa/store/caddystore"
	"github.com/caddy-mfa/caddy-mfa/store/storetest"
)

// twoNodes are two stores on one backend, as two Caddy nodes have them.
var twoNodes = map[string]func(t *testing.T) (store.Store, store.Store){
	"file": func(t *testing.T) (store.Store, store.Store) {
		root := t.TempDir()
		return caddystore.New(&certmagic.FileStorage{Path: root}, "mfa"), caddystore.New(&certmagic.FileStorage{Path: root}, "mfa")
	},
	"redis":    redisNodes(storetest.RedisSingle),
	"cluster":  redisNodes(storetest.RedisCluster),
	"sentinel": redisNodes(storetest.RedisSentinel),
}

func redisNodes(topology string) func(t *testing.T) (store.Store, store.Store) {
	return func(t *testing.T) (store.Store, store.Store) {
		p := benchPrefix()
		return storetest.RedisOn(t, topology, p), storetest.RedisOn(t, topology, p)
	}
}

// TestParallelCodesFromListings: 24 sign-ins at once on two nodes, each spending its step from
// its own listing of the devices (store.UpdateSeen), send the codes of the steps before, at and
// after now. Each step is accepted at most once, and the device ends on the latest step
// accepted: no replay, and no older step written over a newer one. (From a review of decision
// 119; it held on every backend.)
func TestParallelCodesFromListings(t *testing.T) {
	for name, open := range twoNodes {
		t.Run(name, func(t *testing.T) {
			sa, sb := open(t)
			ra, c := newRegistryOn(sa)
			rb, cb := newRegistryOn(sb)
			nv := enrol(t, ra, c, "alice", "phone")
			for round := range 15 {
				c.advance(90 * time.Second)
				cb.t = c.t
				codes := []string{codeAt(t, nv.Seed, c.t, -1), codeAt(t, nv.Seed, c.t, 0), codeAt(t, nv.Seed, c.t, 1)}
				accepted, latest := signInsAtOnce(t, []*Devices{ra, rb}, codes)
				total := 0
				for i, n := range accepted {
					if n > 1 {
						t.Fatalf("round %d: the code of step %+d was accepted %d times", round, i-1, n)
					}
					total += n
				}
				d, err := ra.Get(context.Background(), nv.Device.Serial)
				if err != nil || total == 0 || d.LastStep != latest {
					t.Fatalf("round %d: %d codes accepted; the device's last step %d, the latest accepted %d (%v)", round, total, d.LastStep, latest, err)
				}
			}
		})
	}
}

// signInsAtOnce lists alice's devices on each of 24 goroutines, then has them all verify one of
// codes at the same moment. It returns how often each code was accepted, and the latest step.
func signInsAtOnce(t *testing.T, nodes []*Devices, codes []string) (accepted [3]int, latest int64) {
	ctx := context.Background()
	var counts [3]atomic.Int32
	var maxStep atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range 24 {
		r, i := nodes[g%2], g%3
		wg.Go(func() {
			ds, err := r.ForUser(ctx, "alice")
			if err != nil {
				t.Error(err)
				return
			}
			<-start
			d, err := r.VerifyAmong(ctx, "alice", ds, "", codes[i])
			switch {
			case err == nil:
				counts[i].Add(1)
				raiseTo(&maxStep, d.LastStep)
			case !errors.Is(err, ErrInvalidCode) && !errors.Is(err, ErrCodeReplayed):
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	for i := range counts {
		accepted[i] = int(counts[i].Load())
	}
	return accepted, maxStep.Load()
}

// raiseTo makes top at least n.
func raiseTo(top *atomic.Int64, n int64) {
	for m := top.Load(); n > m; m = top.Load() {
		if top.CompareAndSwap(m, n) {
			return
		}
	}
}
