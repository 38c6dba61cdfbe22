package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/caddy-mfa/caddy-mfa/store"
	"github.com/caddy-mfa/caddy-mfa/store/redisstore"
	"github.com/caddy-mfa/caddy-mfa/store/storetest"
)

// TestConformance runs the suite on a single node, a 3-master Cluster and a Sentinel: the
// records of one run are spread over every master of the Cluster, so a script or transaction
// over two keys, or a List that reads one node, fails here.
func TestConformance(t *testing.T) {
	for _, topology := range storetest.RedisTopologies {
		t.Run(topology, func(t *testing.T) {
			base := "mfa-test-" + randomHex(6)
			storetest.Run(t, func(t *testing.T, name string) store.Store {
				return storetest.RedisOn(t, topology, base+"/"+name)
			})
		})
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
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
