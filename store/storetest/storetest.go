// Package storetest is the conformance suite every store.Store backend passes.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// Run checks a backend. newStore returns an empty store; stores returned by one call to
// newStore must share their data when the backend is shared (two "nodes"), which the suite
// tests by calling it twice with the same name.
func Run(t *testing.T, newStore func(t *testing.T, name string) store.Store) {
	runKeyValue(t, newStore)
	runList(t, newStore)
	runUpdate(t, newStore)
	runAttempts(t, newStore)
	runShortcuts(t, newStore)
	t.Run("SealedKeyCheck", func(t *testing.T) { sealedKeyCheck(t, newStore(t, "keycheck")) })
}

// runKeyValue holds a backend to the plain operations: Get, Put, Delete and List by prefix.
func runKeyValue(t *testing.T, newStore func(t *testing.T, name string) store.Store) {
	t.Run("GetMissing", func(t *testing.T) { getMissing(t, newStore(t, "get-missing")) })
	t.Run("PutGetDelete", func(t *testing.T) { putGetDelete(t, newStore(t, "put-get-delete")) })
	t.Run("List", func(t *testing.T) { listByPrefix(t, newStore(t, "list")) })
}

// runUpdate holds a backend to Update, the one read-modify-write every record change relies
// on, and checks that two nodes on one backend see one set of data.
func runUpdate(t *testing.T, newStore func(t *testing.T, name string) store.Store) {
	t.Run("UpdateCreatesChangesDeletes", func(t *testing.T) { updateCreatesChangesDeletes(t, newStore(t, "update")) })
	t.Run("UpdateErrorChangesNothing", func(t *testing.T) { updateErrorChangesNothing(t, newStore(t, "update-error")) })
	t.Run("UpdateIsAtomicAcrossNodes", func(t *testing.T) {
		updateIsAtomicAcrossNodes(t, newStore(t, "atomic"), newStore(t, "atomic"))
	})
	t.Run("UpdatesOfOneHotKey", func(t *testing.T) {
		updatesOfOneHotKey(t, newStore(t, "update-hot"), newStore(t, "update-hot"))
	})
	t.Run("NodesShareData", func(t *testing.T) {
		nodesShareData(t, newStore(t, "shared-data"), newStore(t, "shared-data"))
	})
}

// getMissing: Get of an absent key is ErrNotFound, which callers tell apart from failures.
func getMissing(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.Get(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get of a missing key: want ErrNotFound, got %v", err)
	}
}

// putGetDelete: Put overwrites, Delete removes, and deleting an absent key is no error.
func putGetDelete(t *testing.T, s store.Store) {
	ctx := context.Background()
	key := store.Key("users", "alice")
	if err := s.Put(ctx, key, []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, key, []byte("v2")); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, key)
	if err != nil || string(got) != "v2" {
		t.Fatalf("Get = %q, %v; want v2", got, err)
	}
	if err := s.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get after Delete: want ErrNotFound, got %v", err)
	}
	if err := s.Delete(ctx, key); err != nil {
		t.Fatalf("Delete of a missing key: %v", err)
	}
}

// listByPrefix: List returns the keys under a prefix, and nothing from a name that only starts
// like it (devices2/ beside devices/).
func listByPrefix(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, k := range []string{
		store.Key("devices", "GAHT12345678"),
		store.Key("devices", "arn:mfa/alice.phone"),
		store.Key("devices2", "x"),
		store.Key("users", "alice", "devices", "GAHT12345678"),
		store.Key("users", "bob"),
	} {
		if err := s.Put(ctx, k, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.List(ctx, "devices/")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	want := []string{store.Key("devices", "GAHT12345678"), store.Key("devices", "arn:mfa/alice.phone")}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("List(devices/) = %q, want %q", got, want)
	}
	if parts := store.LastPart(want[1]); parts != "arn:mfa/alice.phone" && parts != "GAHT12345678" {
		t.Fatalf("LastPart did not undo Key: %q", parts)
	}
	got, _ = s.List(ctx, "users/alice/devices/")
	if len(got) != 1 {
		t.Fatalf("List(users/alice/devices/) = %q, want one key", got)
	}
	got, _ = s.List(ctx, "nothing-here/")
	if len(got) != 0 {
		t.Fatalf("List of an empty prefix = %q", got)
	}
}

// updateCreatesChangesDeletes: Update creates a missing key, changes it, and deletes it when fn
// returns nil.
func updateCreatesChangesDeletes(t *testing.T, s store.Store) {
	ctx := context.Background()
	key := "counter"
	for want := 1; want <= 3; want++ {
		if err := s.Update(ctx, key, increment); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Get(ctx, key); string(got) != fmt.Sprint(want) {
			t.Fatalf("after %d updates the value is %q", want, got)
		}
	}
	if err := s.Update(ctx, key, func([]byte) ([]byte, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an update returning nil must delete; Get = %v", err)
	}
}

// updateErrorChangesNothing: when fn fails, Update returns its error and writes nothing.
func updateErrorChangesNothing(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.Put(ctx, "k", []byte("before")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := s.Update(ctx, "k", func(old []byte) ([]byte, error) { return []byte("after"), boom })
	if !errors.Is(err, boom) {
		t.Fatalf("Update must return fn's error, got %v", err)
	}
	if got, _ := s.Get(ctx, "k"); !bytes.Equal(got, []byte("before")) {
		t.Fatalf("a failed update changed the value to %q", got)
	}
}

// updateIsAtomicAcrossNodes: increments arriving at once on two nodes lose none.
func updateIsAtomicAcrossNodes(t *testing.T, a, b store.Store) {
	ctx := context.Background()
	const writers, each = 4, 15
	errs := onTwoNodes(a, b, writers, each, func(node store.Store) error { return node.Update(ctx, "shared", increment) })
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	got, _ := b.Get(ctx, "shared")
	if string(got) != fmt.Sprint(writers*each) {
		t.Fatalf("concurrent increments lost updates: %q, want %d", got, writers*each)
	}
}

// nodesShareData: what one node writes, the other reads.
func nodesShareData(t *testing.T, a, b store.Store) {
	ctx := context.Background()
	if err := a.Put(ctx, "k", []byte("from a")); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Get(ctx, "k"); err != nil || string(got) != "from a" {
		t.Fatalf("node b reads %q, %v", got, err)
	}
}

// sealedKeyCheck: the key check the store records accepts the same key again and refuses
// another.
func sealedKeyCheck(t *testing.T, s store.Store) {
	ctx := context.Background()
	k1, k2 := bytes.Repeat([]byte{1}, store.KeySize), bytes.Repeat([]byte{2}, store.KeySize)
	s1, _ := store.NewSealer(k1)
	s2, _ := store.NewSealer(k2)
	if err := store.CheckKey(ctx, s, s1); err != nil {
		t.Fatalf("first start: %v", err)
	}
	if err := store.CheckKey(ctx, s, s1); err != nil {
		t.Fatalf("restart with the same key: %v", err)
	}
	if err := store.CheckKey(ctx, s, s2); !errors.Is(err, store.ErrWrongKey) {
		t.Fatalf("start with another key: want ErrWrongKey, got %v", err)
	}
}

func increment(old []byte) ([]byte, error) {
	n := 0
	if old != nil {
		if _, err := fmt.Sscan(string(old), &n); err != nil {
			return nil, err
		}
	}
	return []byte(fmt.Sprint(n + 1)), nil
}

// updatesOfOneHotKey: many writers on two nodes rewrite one record at once (parallel guesses at
// one device); every Update succeeds, however many retries contention costs, and none is lost.
func updatesOfOneHotKey(t *testing.T, a, b store.Store) {
	ctx := context.Background()
	const writers, each = 32, 15
	errs := onTwoNodes(a, b, writers, each, func(node store.Store) error { return node.Update(ctx, "hot", increment) })
	for _, err := range errs {
		t.Log(err)
	}
	got, _ := a.Get(ctx, "hot")
	if len(errs) != 0 || string(got) != fmt.Sprint(writers*each) {
		t.Fatalf("%d of %d updates of one hot key failed; the record holds %q", len(errs), writers*each, got)
	}
}

// onTwoNodes runs writers goroutines at once, alternating between nodes a and b, each calling
// op each times, and returns the errors op returned.
func onTwoNodes(a, b store.Store, writers, each int, op func(node store.Store) error) []error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for w := range writers {
		node := []store.Store{a, b}[w%2]
		wg.Go(func() {
			for range each {
				if err := op(node); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return errs
}
