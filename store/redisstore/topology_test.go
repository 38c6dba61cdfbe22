package redisstore_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/caddy-mfa/caddy-mfa/store"
	"github.com/caddy-mfa/caddy-mfa/store/redisstore"
	"github.com/caddy-mfa/caddy-mfa/store/storetest"
)

// firstNode is host:port of the first node a topology's URL names.
func firstNode(t *testing.T, topology string) string {
	u, err := url.Parse(storetest.RedisURL(t, topology))
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// TestListReadsEveryClusterMaster: 60 records land on all three masters (one record per slot
// holder at least), and List finds each of them.
func TestListReadsEveryClusterMaster(t *testing.T) {
	ctx := context.Background()
	prefix := "mfa-list-" + randomHex(6)
	s := storetest.RedisOn(t, storetest.RedisCluster, prefix)
	var want []string
	for i := range 60 {
		k := store.Key("users", fmt.Sprintf("user%02d", i))
		want = append(want, k)
		if err := s.Put(ctx, k, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.List(ctx, "users/")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("List on the Cluster = %d keys %q, want the 60", len(got), got)
	}
	if n := mastersHolding(t, prefix+"/*"); n != 3 {
		t.Fatalf("the records sit on %d of the 3 masters: the test proves nothing", n)
	}
}

// mastersHolding counts the Cluster's masters that hold a key matching pattern.
func mastersHolding(t *testing.T, pattern string) int {
	ctx := context.Background()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{firstNode(t, storetest.RedisCluster)}})
	defer cc.Close()
	var mu sync.Mutex
	n := 0
	err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		keys, _, err := c.Scan(ctx, 0, pattern, 1000).Result()
		if len(keys) > 0 {
			mu.Lock()
			n++
			mu.Unlock()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPlainURLAtAClusterNodeOpensTheCluster: redis://node without ?mode=cluster works on every
// key, where a plain client gets MOVED for two thirds of them.
func TestPlainURLAtAClusterNodeOpensTheCluster(t *testing.T) {
	ctx := context.Background()
	prefix := "mfa-plain-" + randomHex(6)
	s, err := redisstore.Open(ctx, "redis://"+firstNode(t, storetest.RedisCluster), prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 30 {
		k := store.Key("users", fmt.Sprint(i))
		if err := s.Update(ctx, k, func([]byte) ([]byte, error) { return []byte("v"), nil }); err != nil {
			t.Fatalf("update %s through a plain URL at a Cluster node: %v", k, err)
		}
	}
	if keys, err := s.List(ctx, "users/"); err != nil || len(keys) != 30 {
		t.Fatalf("List = %d keys, %v; want 30", len(keys), err)
	}
	if n := mastersHolding(t, prefix+"/*"); n != 3 {
		t.Fatalf("the records sit on %d of the 3 masters", n)
	}
}

// TestOpenNamesWhatIsWrong: the mistakes an operator makes with Cluster and Sentinel URLs get
// errors that say what to change, against the real servers.
func TestOpenNamesWhatIsWrong(t *testing.T) {
	cluster, sentinel := firstNode(t, storetest.RedisCluster), firstNode(t, storetest.RedisSentinel)
	for _, c := range []struct{ url, want string }{
		{"redis://" + cluster + "/2", "only database 0"},
		{"redis://" + cluster + "/2", "?mode=cluster"},
		{"redis://" + sentinel + "?master_name=nope", `knows no master named "nope" (master_name); it knows ["mfa-master"]`},
		{"redis://" + sentinel + "?master_name=MFA-MASTER", `knows no master named "MFA-MASTER"`},
		{"redis://127.0.0.1:1?master_name=mfa-master&addr=127.0.0.1:2", "no sentinel answers (127.0.0.1:1, 127.0.0.1:2)"},
		{"redis://127.0.0.1:1?master_name=nope&addr=" + sentinel, `knows no master named "nope"`},
		// Options that read from replicas: a stale read could drop a write (and go-redis panicked
		// on the Sentinel ones).
		{"redis://" + cluster + "?mode=cluster&read_only=true", "read_only is not supported: caddy-mfa reads and writes on the master only"},
		{"redis://" + cluster + "?mode=cluster&route_by_latency=1", "route_by_latency is not supported"},
		{"redis://" + cluster + "?mode=cluster&route_randomly=true", "route_randomly is not supported"},
		{"redis://" + sentinel + "?master_name=mfa-master&route_randomly=true", "route_randomly is not supported"},
		{"redis://" + sentinel + "?master_name=mfa-master&route_by_latency=true", "route_by_latency is not supported"},
		{"redis://" + sentinel + "?master_name=mfa-master&replica_only=true", "replica_only is not supported"},
		{"redis://" + cluster + "?read_only=false", "read_only is not supported"},
	} {
		s, err := redisstore.Open(context.Background(), c.url, "p")
		if err == nil {
			_ = s.Close()
			t.Errorf("%s: opened", c.url)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want it to say %q", c.url, err, c.want)
		}
	}
}
