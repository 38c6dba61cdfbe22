package storetest

import (
	"context"
	"os"
	"testing"

	"github.com/caddy-mfa/caddy-mfa/store"
	"github.com/caddy-mfa/caddy-mfa/store/redisstore"
)

// The Redis topologies scripts/with-redis.sh starts, by the variable that holds each one's URL.
const (
	RedisSingle   = "MFA_TEST_REDIS"          // one redis-server
	RedisCluster  = "MFA_TEST_REDIS_CLUSTER"  // a Redis Cluster of three masters
	RedisSentinel = "MFA_TEST_REDIS_SENTINEL" // a Sentinel and the master it watches
)

// RedisTopologies lists the variables above, for tests that run on each.
var RedisTopologies = []string{RedisSingle, RedisCluster, RedisSentinel}

// RedisURL is the URL of one topology. Without it the test fails: the Redis backend is tested
// against Redis, never skipped.
func RedisURL(t testing.TB, topology string) string {
	t.Helper()
	u := os.Getenv(topology)
	if u == "" {
		t.Fatalf("%s is not set: run the tests with scripts/with-redis.sh (make test does)", topology)
	}
	return u
}

// Redis is a store under a fresh prefix on the real redis-server that scripts/with-redis.sh
// starts.
func Redis(t testing.TB, prefix string) store.Store {
	return RedisOn(t, RedisSingle, prefix)
}

// RedisOn is a store under prefix on one of the topologies, closed when the test ends.
func RedisOn(t testing.TB, topology, prefix string) store.Store {
	t.Helper()
	s, err := redisstore.Open(context.Background(), RedisURL(t, topology), prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
