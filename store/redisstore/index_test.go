package redisstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/store"
	"github.com/caddy-mfa/caddy-mfa/store/redisstore"
	"github.com/caddy-mfa/caddy-mfa/store/storetest"
)

// openOn opens a store under a fresh prefix on topology.
func openOn(t testing.TB, topology, prefix string) *redisstore.Store {
	t.Helper()
	s, err := redisstore.Open(context.Background(), storetest.RedisURL(t, topology), prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// eachTopology runs test on a fresh store on every topology.
func eachTopology(t *testing.T, test func(t *testing.T, s *redisstore.Store)) {
	for _, topology := range storetest.RedisTopologies {
		t.Run(topology, func(t *testing.T) { test(t, openOn(t, topology, "mfa-test-"+randomHex(6))) })
	}
}

// members reads a folder's set through the raw client.
func members(t *testing.T, s *redisstore.Store, folder string) []string {
	t.Helper()
	m, err := s.Raw().SMembers(context.Background(), s.IndexKey(folder)).Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}

// TestStaleMemberNeverListed: a member without its record (a node that crashed after indexing,
// before writing) is never listed, and List prunes it from every folder it is in.
func TestStaleMemberNeverListed(t *testing.T) {
	eachTopology(t, func(t *testing.T, s *redisstore.Store) {
		ctx := context.Background()
		live, ghost := store.Key("userdevices", "alice", "A"), store.Key("userdevices", "alice", "GHOST")
		if err := s.Put(ctx, live, []byte("x")); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"userdevices/", "userdevices/alice/"} {
			if err := s.Raw().SAdd(ctx, s.IndexKey(f), ghost).Err(); err != nil {
				t.Fatal(err)
			}
		}
		storetest.WantList(t, s, "userdevices/alice/", live)
		for _, f := range []string{"userdevices/", "userdevices/alice/"} {
			if got := members(t, s, f); !slices.Equal(got, []string{live}) {
				t.Fatalf("the stale member stays in %s: %q", f, got)
			}
		}
	})
}

// TestRecordExpiredByRedisDropsOut: the store sets no TTL, but a record can vanish without a
// Delete (an operator's EXPIRE, eviction under maxmemory): List stops listing it once Redis
// has expired it, and prunes its member.
func TestRecordExpiredByRedisDropsOut(t *testing.T) {
	eachTopology(t, func(t *testing.T, s *redisstore.Store) {
		ctx := context.Background()
		k := store.Key("signins", "alice", "s1")
		if err := s.Put(ctx, k, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if err := s.Raw().PExpire(ctx, s.RecordKey(k), 50*time.Millisecond).Err(); err != nil {
			t.Fatal(err)
		}
		storetest.WantList(t, s, "signins/alice/", k)
		deadline := time.Now().Add(time.Second) // Redis's own clock: nothing to move
		for s.Raw().Exists(ctx, s.RecordKey(k)).Val() == 1 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		storetest.WantList(t, s, "signins/alice/")
		if got := members(t, s, "signins/alice/"); len(got) != 0 {
			t.Fatalf("the expired record's member stays: %q", got)
		}
	})
}

// TestIndexBuiltOnceFromOldData: records written before the index (straight into Redis, no set,
// no mark) are listed after the next Open, which builds the index and sets the mark; a build
// that already ran is not run again.
func TestIndexBuiltOnceFromOldData(t *testing.T) {
	for _, topology := range storetest.RedisTopologies {
		t.Run(topology, func(t *testing.T) {
			ctx := context.Background()
			prefix := "mfa-test-" + randomHex(6)
			old := openOn(t, topology, prefix)
			keys := []string{store.Key("userdevices", "alice", "A"), store.Key("userdevices", "bob", "B"), store.Key("users", "alice")}
			cleanSlate(t, old, keys)
			for _, k := range keys {
				if err := old.Raw().Set(ctx, old.RecordKey(k), "x", 0).Err(); err != nil {
					t.Fatal(err)
				}
			}
			storetest.WantList(t, old, "userdevices/alice/") // not indexed yet: invisible
			upgraded := openOn(t, topology, prefix)
			storetest.WantList(t, upgraded, "userdevices/alice/", keys[0])
			storetest.WantList(t, upgraded, "userdevices/", keys[0], keys[1])
			storetest.WantList(t, upgraded, "users/", keys[2])
			late := store.Key("userdevices", "carol", "C")
			if err := old.Raw().Set(ctx, old.RecordKey(late), "x", 0).Err(); err != nil {
				t.Fatal(err)
			}
			storetest.WantList(t, openOn(t, topology, prefix), "userdevices/carol/") // built once
		})
	}
}

// cleanSlate removes the mark and the sets that Open of an empty prefix wrote, leaving the
// store as a version before the index left it.
func cleanSlate(t *testing.T, s *redisstore.Store, keys []string) {
	t.Helper()
	ctx := context.Background()
	if err := s.Raw().Del(ctx, s.BuiltKey()).Err(); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		for _, f := range []string{"userdevices/", "userdevices/alice/", "userdevices/bob/", "users/"} {
			_ = s.Raw().SRem(ctx, s.IndexKey(f), k).Err()
		}
	}
}
