package redisstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/caddy-mfa/caddy-mfa/store"
	"github.com/caddy-mfa/caddy-mfa/store/redisstore"
	"github.com/caddy-mfa/caddy-mfa/store/storetest"
)

// BenchmarkListUserDevices lists one user's two devices, as every factor check does, beside 0
// and 100,000 other users' device records in the same database: with the folder index the time
// stays the same. "scan" is the SCAN MATCH that List was before, for comparison.
//
//	scripts/with-redis.sh go test -run '^$' -bench ListUserDevices ./store/redisstore/
func BenchmarkListUserDevices(b *testing.B) {
	for _, topology := range []string{storetest.RedisSingle, storetest.RedisCluster} {
		for _, others := range []int{0, 100_000} {
			s := openOn(b, topology, "mfa-bench-"+randomHex(6))
			ctx := context.Background()
			mine := []string{store.Key("userdevices", "alice", "A"), store.Key("userdevices", "alice", "B")}
			for _, k := range mine {
				if err := s.Put(ctx, k, []byte("x")); err != nil {
					b.Fatal(err)
				}
			}
			fillOthers(b, s, others)
			name := fmt.Sprintf("%s/others=%d", topology, others)
			b.Run(name+"/index", func(b *testing.B) {
				for b.Loop() {
					if keys, err := s.List(ctx, "userdevices/alice/"); err != nil || len(keys) != 2 {
						b.Fatalf("List = %q, %v", keys, err)
					}
				}
			})
			b.Run(name+"/scan", func(b *testing.B) {
				for b.Loop() {
					if keys := scanAll(b, s, "userdevices/alice/"); len(keys) != 2 {
						b.Fatalf("SCAN = %q", keys)
					}
				}
			})
		}
	}
}

// fillOthers writes n device records of other users, indexed as Put indexes them, in pipelines
// of 1,000 (a Put each would take minutes).
func fillOthers(b *testing.B, s *redisstore.Store, n int) {
	b.Helper()
	ctx := context.Background()
	for start := 0; start < n; start += 1000 {
		_, err := s.Raw().Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := start; i < min(start+1000, n); i++ {
				user := fmt.Sprintf("user%06d", i)
				k := store.Key("userdevices", user, "S"+user)
				p.SAdd(ctx, s.IndexKey("userdevices/"), k)
				p.SAdd(ctx, s.IndexKey("userdevices/"+user+"/"), k)
				p.Set(ctx, s.RecordKey(k), "x", 0)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// scanAll is List as it was: SCAN MATCH over every master.
func scanAll(b *testing.B, s *redisstore.Store, prefix string) []string {
	ctx := context.Background()
	var out []string
	scan := func(ctx context.Context, c redis.Cmdable) error {
		iter := c.Scan(ctx, 0, s.RecordKey(prefix)+"*", 500).Iterator()
		for iter.Next(ctx) {
			out = append(out, iter.Val())
		}
		return iter.Err()
	}
	var err error
	if cc, ok := s.Raw().(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) })
	} else {
		err = scan(ctx, s.Raw())
	}
	if err != nil {
		b.Fatal(err)
	}
	return out
}
