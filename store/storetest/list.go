package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// runList holds a backend to List's contract beyond the plain case: every key that starts with
// the prefix, whether the prefix ends at a folder or inside a name, and nothing once deleted,
// however the record was written or removed.
func runList(t *testing.T, newStore func(t *testing.T, name string) store.Store) {
	t.Run("ListAfterDelete", func(t *testing.T) { listAfterDelete(t, newStore(t, "list-delete")) })
	t.Run("ListPrefixInsideAName", func(t *testing.T) { listPrefixInsideAName(t, newStore(t, "list-partial")) })
	t.Run("ListSeesOtherNodes", func(t *testing.T) {
		listSeesOtherNodes(t, newStore(t, "list-nodes"), newStore(t, "list-nodes"))
	})
	t.Run("ListMatchesRecordsAfterRaces", func(t *testing.T) {
		listMatchesRecordsAfterRaces(t, newStore(t, "list-races"), newStore(t, "list-races"))
	})
	t.Run("UpdatesThatCreateAndRemoveRace", func(t *testing.T) {
		updatesThatCreateAndRemoveRace(t, newStore(t, "update-races"), newStore(t, "update-races"))
	})
}

// ListOf is List's answer sorted, failing the test on an error.
func ListOf(t *testing.T, s store.Store, prefix string) []string {
	t.Helper()
	got, err := s.List(context.Background(), prefix)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	slices.Sort(got)
	return got
}

// WantList fails the test unless List(prefix) is exactly want, in any order.
func WantList(t *testing.T, s store.Store, prefix string, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := ListOf(t, s, prefix); !slices.Equal(got, want) {
		t.Fatalf("List(%q) = %q, want %q", prefix, got, want)
	}
}

// listAfterDelete: a record removed by Delete, or by an Update returning nil, is listed no more;
// one created by Update is.
func listAfterDelete(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b, c := store.Key("userdevices", "alice", "A"), store.Key("userdevices", "alice", "B"), store.Key("userdevices", "alice", "C")
	for _, k := range []string{a, b} {
		if err := s.Put(ctx, k, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Update(ctx, c, func([]byte) ([]byte, error) { return []byte("new"), nil }); err != nil {
		t.Fatal(err)
	}
	WantList(t, s, "userdevices/alice/", a, b, c)
	if err := s.Delete(ctx, a); err != nil {
		t.Fatal(err)
	}
	WantList(t, s, "userdevices/alice/", b, c)
	if err := s.Update(ctx, c, func([]byte) ([]byte, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	WantList(t, s, "userdevices/alice/", b)
	WantList(t, s, "userdevices/", b)
	if err := s.Delete(ctx, b); err != nil {
		t.Fatal(err)
	}
	WantList(t, s, "userdevices/alice/")
	if err := s.Put(ctx, a, []byte("again")); err != nil {
		t.Fatal(err)
	}
	WantList(t, s, "userdevices/alice/", a)
}

// listPrefixInsideAName: "devices/al" is every key that starts so (alice's, alpha's, below
// them too), not a folder named "al"; a prefix with no "/" and a folder's parent list every key
// below them.
func listPrefixInsideAName(t *testing.T, s store.Store) {
	ctx := context.Background()
	alice, alpha := store.Key("devices", "alice"), store.Key("devices", "alpha", "x")
	bob, al2 := store.Key("devices", "bob"), store.Key("devices2", "alice")
	user := store.Key("users", "alice", "devices", "A")
	for _, k := range []string{alice, alpha, bob, al2, user, "lonely"} {
		if err := s.Put(ctx, k, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	WantList(t, s, "devices/al", alice, alpha)
	WantList(t, s, "devices/alice", alice)
	WantList(t, s, "devices/al/")
	WantList(t, s, "devices/", alice, alpha, bob)
	WantList(t, s, "devices", alice, alpha, bob, al2)
	WantList(t, s, "users/", user)
	WantList(t, s, "users/alice/devices/", user)
	WantList(t, s, "lone", "lonely")
}

// listSeesOtherNodes: what one node writes and deletes, the other's List reflects at once.
func listSeesOtherNodes(t *testing.T, a, b store.Store) {
	ctx := context.Background()
	k := store.Key("signins", "alice", "s1")
	if err := a.Put(ctx, k, []byte("x")); err != nil {
		t.Fatal(err)
	}
	WantList(t, b, "signins/alice/", k)
	if err := b.Delete(ctx, k); err != nil {
		t.Fatal(err)
	}
	WantList(t, a, "signins/alice/")
}

// listMatchesRecordsAfterRaces: two nodes put, delete and list the same keys at once; after,
// List holds exactly the keys whose record exists (none missing, none stale).
func listMatchesRecordsAfterRaces(t *testing.T, a, b store.Store) {
	ctx := context.Background()
	keys := []string{store.Key("remembered", "alice", "r1"), store.Key("remembered", "alice", "r2"), store.Key("remembered", "alice", "r3")}
	var wg sync.WaitGroup
	for w, node := range []store.Store{a, b, a, b} {
		wg.Go(func() {
			for i := range 40 {
				k := keys[(i+w)%len(keys)]
				var err error
				switch (i + w) % 4 {
				case 0, 1:
					err = node.Put(ctx, k, []byte("x"))
				case 2:
					err = node.Delete(ctx, k)
				default:
					_, err = node.List(ctx, "remembered/alice/")
				}
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	var want []string
	for _, k := range keys {
		if _, err := a.Get(ctx, k); err == nil {
			want = append(want, k)
		}
	}
	WantList(t, b, "remembered/alice/", want...)
}

// updatesThatCreateAndRemoveRace: Updates on two nodes at once create, rewrite and remove
// records of one folder (a counter that starts at 1 and is removed after 3, as a lockout
// record lives); no step is lost, and the folder lists exactly the records that exist.
func updatesThatCreateAndRemoveRace(t *testing.T, a, b store.Store) {
	ctx := context.Background()
	keys := []string{store.Key("lockout", "alice"), store.Key("lockout", "bob")}
	var steps [2]atomic.Int64
	cycle := func(old []byte) ([]byte, error) {
		if string(old) == "3" {
			return nil, nil
		}
		return increment(old)
	}
	var wg sync.WaitGroup
	for w, node := range []store.Store{a, b, a, b} {
		wg.Go(func() {
			for i := range 30 {
				k := (i + w) % len(keys)
				if err := node.Update(ctx, keys[k], cycle); err != nil {
					t.Error(err)
					return
				}
				steps[k].Add(1)
			}
		})
	}
	wg.Wait()
	var want []string
	for k, key := range keys {
		got, err := a.Get(ctx, key)
		wantValue := steps[k].Load() % 4 // 1, 2, 3, removed, 1, ...
		switch {
		case wantValue == 0 && !errors.Is(err, store.ErrNotFound):
			t.Errorf("%s after %d steps: %q, %v; want it removed", key, steps[k].Load(), got, err)
		case wantValue != 0 && string(got) != fmt.Sprint(wantValue):
			t.Errorf("%s after %d steps: %q, %v; want %d (a step was lost)", key, steps[k].Load(), got, err, wantValue)
		}
		if err == nil {
			want = append(want, key)
		}
	}
	WantList(t, b, "lockout/", want...)
}
