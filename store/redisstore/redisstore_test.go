package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/caddy-mfa/caddy-mfa/store"
	"github.com/caddy-mfa/caddy-mfa/store/redisstore"
	"github.com/caddy-mfa/caddy-mfa/store/storetest"
)

// redisURL is the real redis-server that make test starts on a free port. Without it the test
// fails: the Redis backend is tested against Redis, never skipped.
func redisURL(t *testing.T) string {
	u := os.Getenv("MFA_TEST_REDIS")
	if u == "" {
		t.Fatal("MFA_TEST_REDIS is not set: run the tests with make test, which starts redis-server")
	}
	return u
}

func TestConformance(t *testing.T) {
	url := redisURL(t)
	run := make([]byte, 6)
	_, _ = rand.Read(run)
	base := "mfa-test-" + hex.EncodeToString(run)
	var mu sync.Mutex
	var opened []*redisstore.Store
	t.Cleanup(func() {
		for _, s := range opened {
			_ = s.Close()
		}
	})
	storetest.Run(t, func(t *testing.T, name string) store.Store {
		s, err := redisstore.Open(context.Background(), url, base+"/"+name)
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		opened = append(opened, s)
		mu.Unlock()
		return s
	})
}

func TestOpenErrorsAreClear(t *testing.T) {
	for _, bad := range []string{"http://localhost:6379", "redis://127.0.0.1:1", "redis://x:secretpw@127.0.0.1:1", "redis://h:1?mode=ring"} {
		_, err := redisstore.Open(context.Background(), bad, "p")
		if err == nil {
			t.Fatalf("%s: no error", bad)
		}
		if strings.Contains(err.Error(), "secretpw") {
			t.Fatalf("the error shows the password: %v", err)
		}
	}
}
