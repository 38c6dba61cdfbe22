package storetest

import (
	"context"
	"os"
	"testing"

	"github.com/caddy-mfa/caddy-mfa/store"
	"github.com/caddy-mfa/caddy-mfa/store/redisstore"
)

// Redis is a store under a fresh prefix on the real redis-server that scripts/with-redis.sh
// starts (its URL in MFA_TEST_REDIS). Without it the test fails: the Redis backend is tested
// against Redis, never skipped.
func Redis(t testing.TB, prefix string) store.Store {
	t.Helper()
	u := os.Getenv("MFA_TEST_REDIS")
	if u == "" {
		t.Fatal("MFA_TEST_REDIS is not set: run the tests with scripts/with-redis.sh (make test does)")
	}
	s, err := redisstore.Open(context.Background(), u, prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
