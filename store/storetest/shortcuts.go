package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// runShortcuts holds a backend's shortcuts (store.GetMany, ListUnchecked, UpdateSeen) to the
// results of the plain operations, on backends that have them and on those that do not.
func runShortcuts(t *testing.T, newStore func(t *testing.T, name string) store.Store) {
	t.Run("GetManyAndListUnchecked", func(t *testing.T) { getManyAndListUnchecked(t, newStore(t, "get-many")) })
	t.Run("UpdateSeenOfAChangedRecord", func(t *testing.T) {
		updateSeenOfAChangedRecord(t, newStore(t, "seen-changed"), newStore(t, "seen-changed"))
	})
	t.Run("UpdatesSeenAtOnce", func(t *testing.T) {
		updatesSeenAtOnce(t, newStore(t, "seen-at-once"), newStore(t, "seen-at-once"))
	})
}

// getManyAndListUnchecked: GetMany answers in order, nil for a missing key; ListUnchecked holds
// every record under the prefix and nothing outside it.
func getManyAndListUnchecked(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, k := range []string{"f/a", "f/b", "f/gone", "g/a"} {
		if err := s.Put(ctx, k, []byte("v-"+k)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, "f/gone"); err != nil {
		t.Fatal(err)
	}
	got, err := store.GetMany(ctx, s, []string{"f/b", "f/gone", "nope", "f/a"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"v-f/b", "", "", "v-f/a"}
	for i, v := range got {
		if string(v) != want[i] || (want[i] == "") != (v == nil) {
			t.Fatalf("GetMany[%d] = %q, want %q", i, v, want[i])
		}
	}
	keys, err := store.ListUnchecked(ctx, s, "f/")
	if err != nil {
		t.Fatal(err)
	}
	keys = slices.DeleteFunc(keys, func(k string) bool { return k == "f/gone" }) // may be there
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"f/a", "f/b"}) {
		t.Fatalf("ListUnchecked(f/) = %q, want f/a and f/b", keys)
	}
}

// updateSeenOfAChangedRecord: a value seen before another node rewrote or removed the record
// is not written over it; the update runs on what the record holds.
func updateSeenOfAChangedRecord(t *testing.T, a, b store.Store) {
	ctx := context.Background()
	mustPut(t, a, "k", "1")
	mustPut(t, b, "k", "5")
	if err := store.UpdateSeen(ctx, a, "k", []byte("1"), increment); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Get(ctx, "k"); string(got) != "6" {
		t.Fatalf("an update from a stale value left %q, want 6 (5 + 1)", got)
	}
	if err := b.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if err := store.UpdateSeen(ctx, a, "k", []byte("6"), increment); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Get(ctx, "k"); string(got) != "1" {
		t.Fatalf("an update seen before the record was removed left %q, want 1 (a new record)", got)
	}
	if err := store.UpdateSeen(ctx, a, "k", []byte("1"), increment); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.Get(ctx, "k"); string(got) != "2" {
		t.Fatalf("an update from the current value left %q, want 2", got)
	}
}

// updatesSeenAtOnce: writers on two nodes each read the record and update from what they read,
// all at once; whoever lost a race runs again on the new value, and no increment is lost.
func updatesSeenAtOnce(t *testing.T, a, b store.Store) {
	ctx := context.Background()
	const writers, each = 16, 15
	mustPut(t, a, "hot", "0")
	errs := onTwoNodes(a, b, writers, each, func(node store.Store) error {
		seen, err := node.Get(ctx, "hot")
		if err != nil {
			return err
		}
		return store.UpdateSeen(ctx, node, "hot", seen, increment)
	})
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	if got, _ := a.Get(ctx, "hot"); string(got) != fmt.Sprint(writers*each) {
		t.Fatalf("concurrent updates from seen values lost some: %q, want %d", got, writers*each)
	}
}

func mustPut(t *testing.T, s store.Store, key, value string) {
	t.Helper()
	if err := s.Put(context.Background(), key, []byte(value)); err != nil {
		t.Fatal(err)
	}
}
