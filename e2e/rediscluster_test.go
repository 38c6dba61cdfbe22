package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/store/redisstore"
)

// The topology this file runs on: scripts/with-redis.sh's 3-master Redis Cluster.
const clusterEnv = "MFA_TEST_REDIS_CLUSTER"

// TestThreeNodesOnRedisCluster: three Caddy nodes share a 3-master Redis Cluster, whose masters
// hold the records between them (the store's conformance suite checks the spread), and act as
// one gateway: one-time codes, the lockout count, tokens and revocations hold on all three.
func TestThreeNodesOnRedisCluster(t *testing.T) {
	url := os.Getenv(clusterEnv)
	if url == "" {
		t.Fatal(clusterEnv + " is not set: run the tests with scripts/with-redis.sh (make test does)")
	}
	emptyClusterStore(t, url)
	t.Cleanup(func() { emptyClusterStore(t, url) })
	encKey, signKey := randomKey(t), randomKey(t)
	nodes := make([]*node, 3)
	for i := range nodes {
		nodes[i] = startRedisNode(t, url, encKey, signKey)
	}
	t.Run("CodeUsedOnOneIsRefusedOnTheOthers", func(t *testing.T) { codeSpentEverywhere(t, nodes) })
	t.Run("WrongCodesOnThreeNodesMeetOneCount", func(t *testing.T) { lockoutAcrossNodes(t, nodes) })
	t.Run("TokenAndRevocationHoldOnAll", func(t *testing.T) { tokenAndRevocation(t, nodes) })
	t.Run("ReloadStormKeepsMemory", func(t *testing.T) { reloadStorm(t, nodes[0]) })
	// Last: the address's throttle (every request comes from 127.0.0.1) has room for it alone.
	t.Run("OneCodeAtOnceOnThreeNodesPassesOnce", func(t *testing.T) { oneCodeAtOnce(t, nodes) })
}

// emptyClusterStore removes the records of an earlier run under the nodes' prefix, so a node
// with this run's keys does not meet another key's check record.
func emptyClusterStore(t *testing.T, url string) {
	ctx := context.Background()
	s, err := redisstore.Open(ctx, url, "mfa")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	keys, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if err := s.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
}

// startRedisNode runs one Caddy node on the Redis at redisURL, with the cluster's keys, users
// alice, bob, carol and dave, and a lock that outlasts the test once it starts.
func startRedisNode(t *testing.T, redisURL, encKey, signKey string) *node {
	t.Helper()
	site, admin := freePort(t), freePort(t)
	dataDir := t.TempDir()
	const hash = "$2a$04$yDkr1gRCtNQojfOxyVfbx.uKfwuhdsC.MfBohx1nJLI5Gn91mCrgS"
	cfg := fmt.Sprintf(`{
	admin localhost:%d
	storage file_system %s
	metrics
	mfa {
		storage redis %s
		encryption_key %s
		signing_keys %s
		lockout {
			max_failures 4
			base_delay 10m
			max_delay 10m
		}
		user alice %s
		user bob %s
		user carol %s
		user dave %s
	}
}
http://localhost:%d {
	bind 127.0.0.1
	mfa
	respond "app for {http.auth.user.id}"
}
`, admin, filepath.Join(dataDir, "storage"), redisURL, encKey, signKey, hash, hash, hash, hash, site)
	return startNode(t, cfg, dataDir, site, admin)
}

// codeSpentEverywhere: alice enrols on node 0; the next code, accepted on node 1, is refused on
// nodes 0 and 2.
func codeSpentEverywhere(t *testing.T, nodes []*node) {
	now := time.Now()
	_, secret := nodes[0].signIn(t, "alice").enrol(t, "phone", now)
	next := oathtool(t, secret, now.Add(30*time.Second))
	if code := nodes[1].signIn(t, "alice").call("POST", "/.mfa/api/verify", map[string]string{"code": next}, nil); code != http.StatusOK {
		t.Fatalf("the next code on node 1: %d", code)
	}
	for _, i := range []int{0, 2} {
		if code := nodes[i].signIn(t, "alice").call("POST", "/.mfa/api/verify", map[string]string{"code": next}, nil); code != http.StatusForbidden {
			t.Errorf("the code node 1 accepted, replayed on node %d: %d", i, code)
		}
	}
}

// oneCodeAtOnce: the same right code in nine requests at once, three on each node (one session
// each: sign-ins from one address are throttled), each request reading dave's devices and
// spending the step from what it read: it passes once. The
// others are refused as replayed (403) or, once the lockout's four checks are spent, unchecked
// (429).
func oneCodeAtOnce(t *testing.T, nodes []*node) {
	now := time.Now()
	_, secret := nodes[0].signIn(t, "dave").enrol(t, "phone", now)
	next := oathtool(t, secret, now.Add(30*time.Second))
	sessions := signInOnEach(t, nodes, "dave")
	answers := verifyAtOnce(sessions, 9, func(int) string { return next })
	if answers[http.StatusOK] != 1 || answers[http.StatusForbidden]+answers[http.StatusTooManyRequests] != 8 {
		t.Fatalf("one code in 9 requests at once on three nodes: answers %v; want one 200, the rest 403 or 429", answers)
	}
}

// signInOnEach signs user in on every node: one session a node.
func signInOnEach(t *testing.T, nodes []*node, user string) []*apiClient {
	sessions := make([]*apiClient, len(nodes))
	for i, n := range nodes {
		sessions[i] = n.signIn(t, user)
	}
	return sessions
}

// verifyAtOnce sends n factor codes at the same moment, the i-th (codeFor(i)) through session
// i modulo their number, and counts the answers by status.
func verifyAtOnce(sessions []*apiClient, n int, codeFor func(i int) string) map[int]int {
	answers := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			code := sessions[i%len(sessions)].call("POST", "/.mfa/api/verify", map[string]string{"code": codeFor(i)}, nil)
			mu.Lock()
			answers[code]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return answers
}

// lockoutAcrossNodes: 36 wrong codes at once, 12 on each node, against max_failures 4: exactly
// 4 are checked (403, and a factor_failed audit event each), every other is refused unchecked
// (429), and then even the right code waits.
func lockoutAcrossNodes(t *testing.T, nodes []*node) {
	now := time.Now()
	_, secret := nodes[2].signIn(t, "bob").enrol(t, "phone", now)
	sessions := signInOnEach(t, nodes, "bob")
	answers := verifyAtOnce(sessions, 36, func(i int) string { return fmt.Sprintf("%06d", i) })
	if answers[http.StatusForbidden] != 4 || answers[http.StatusTooManyRequests] != 32 {
		t.Fatalf("36 wrong codes at once on three nodes, max_failures 4: answers %v; want 4 checked (403), 32 locked (429)", answers)
	}
	failed := 0
	for _, n := range nodes {
		failed += auditEvents(n, "factor_failed", "bob")
	}
	if failed != 4 {
		t.Fatalf("the audit logs of the three nodes hold %d factor_failed events for bob, want 4", failed)
	}
	right := oathtool(t, secret, now.Add(30*time.Second))
	if code := sessions[0].call("POST", "/.mfa/api/verify", map[string]string{"code": right}, nil); code != http.StatusTooManyRequests {
		t.Fatalf("the right code during the lock: %d", code)
	}
}

// tokenAndRevocation: a session token minted on node 0 works on all three; revoke-sessions on
// node 0 ends it there at once and on nodes 1 and 2 within 5 s.
func tokenAndRevocation(t *testing.T, nodes []*node) {
	now := time.Now()
	serial, secret := nodes[0].signIn(t, "carol").enrol(t, "phone", now)
	admin := "--address=" + strings.TrimPrefix(nodes[0].admin, "http://")
	out := nodes[0].caddyCLI(t, nil, "access-key", "create", "--user", "carol", admin)
	keyEnv := []string{"MFA_ACCESS_KEY_ID=" + jsonField(t, out, "access_key_id"), "MFA_SECRET_ACCESS_KEY=" + jsonField(t, out, "secret_access_key")}
	out = nodes[0].caddyCLI(t, keyEnv, "get-session-token", "--url", nodes[0].url, "--serial", serial, "--code", oathtool(t, secret, now.Add(30*time.Second)))
	bearer := []string{"Authorization", "Bearer " + strings.TrimPrefix(strings.Split(out, "\n")[0], "export MFA_SESSION_TOKEN=")}
	for i, n := range nodes {
		var page string
		if code := newAPIClient(t, n.url).call("GET", "/", nil, &page, bearer...); code != http.StatusOK || page != "app for carol" {
			t.Fatalf("node 0's token on node %d: %d %q", i, code, page)
		}
	}
	nodes[0].caddyCLI(t, nil, "revoke-sessions", "--user", "carol", admin)
	revokedAt := time.Now()
	if code := newAPIClient(t, nodes[0].url).call("GET", "/", nil, nil, bearer...); code != http.StatusUnauthorized {
		t.Fatalf("the revoked token on the node that revoked it: %d", code)
	}
	for i, n := range nodes[1:] {
		for newAPIClient(t, n.url).call("GET", "/", nil, nil, bearer...) != http.StatusUnauthorized {
			if time.Since(revokedAt) > 5*time.Second {
				t.Fatalf("node %d still accepts the revoked token after 5 s", i+1)
			}
			time.Sleep(100 * time.Millisecond) // another process's poll: real time passes there
		}
	}
	t.Logf("every node refused the revoked token %v after the revocation", time.Since(revokedAt).Round(10*time.Millisecond))
}
