package redisstore

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Open connects to the Redis that rawURL names and checks that it answers:
//
//	redis://[user:password@]host:port[/db]                        a single node
//	rediss://...                                                  the same over TLS
//	redis://host:26379?master_name=mymaster[&addr=host2:26379]     Sentinel
//	redis://host:7000?mode=cluster[&addr=host2:7000]              Cluster
//
// A plain URL that names a Cluster node opens the Cluster (the node says so in INFO cluster), as
// if ?mode=cluster were given; a Sentinel that knows no master of the name says so. The first
// Open of a store written before the folder index builds it (build.go).
func Open(ctx context.Context, rawURL, prefix string) (*Store, error) {
	t, err := parseTarget(rawURL)
	if err != nil {
		return nil, err
	}
	buildCtx := ctx // the index's one-time build may take longer than answering
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if t.failover != nil {
		if err := checkSentinels(ctx, t.failover, redacted(rawURL)); err != nil {
			return nil, err
		}
	}
	client := t.client()
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		if t.single != nil && strings.Contains(err.Error(), "SELECT is not allowed in cluster mode") {
			return nil, clusterDatabaseError(rawURL, t.single.DB)
		}
		return nil, fmt.Errorf("redis at %s does not answer: %w", redacted(rawURL), err)
	}
	if node, ok := client.(*redis.Client); ok && isClusterNode(ctx, node) {
		if client, err = openDetectedCluster(ctx, node, rawURL); err != nil {
			return nil, err
		}
	}
	_, cluster := client.(*redis.ClusterClient)
	s := &Store{client: client, prefix: strings.Trim(prefix, "/") + "/", cluster: cluster}
	if err := s.ensureIndex(buildCtx); err != nil {
		_ = client.Close()
		return nil, err
	}
	return s, nil
}

// target is a parsed URL: exactly one of the three is set.
type target struct {
	single   *redis.Options
	failover *redis.FailoverOptions
	cluster  *redis.ClusterOptions
}

func (t target) client() redis.UniversalClient {
	switch {
	case t.cluster != nil:
		return redis.NewClusterClient(t.cluster)
	case t.failover != nil:
		return redis.NewFailoverClient(t.failover)
	}
	return redis.NewClient(t.single)
}

func parseTarget(rawURL string) (target, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
		return target{}, fmt.Errorf("redis url %s: want redis:// or rediss://", redacted(rawURL))
	}
	q := u.Query()
	if err := refuseReplicaReads(q); err != nil {
		return target{}, fmt.Errorf("redis url %s: %w", redacted(rawURL), err)
	}
	mode := q.Get("mode")
	q.Del("mode")
	u.RawQuery = q.Encode()
	var t target
	switch {
	case mode == "cluster":
		if t.cluster, err = redis.ParseClusterURL(u.String()); err != nil {
			return t, fmt.Errorf("redis cluster url %s: %w", redacted(rawURL), err)
		}
	case mode != "":
		return t, fmt.Errorf("redis url %s: mode must be cluster (or left out)", redacted(rawURL))
	case q.Get("master_name") != "":
		if t.failover, err = redis.ParseFailoverURL(u.String()); err != nil {
			return t, fmt.Errorf("redis sentinel url %s: %w", redacted(rawURL), err)
		}
	default:
		if t.single, err = redis.ParseURL(u.String()); err != nil {
			return t, fmt.Errorf("redis url %s: %w", redacted(rawURL), err)
		}
	}
	return t, nil
}

// replicaReads are go-redis's URL options that send reads to replicas. A replica lags its
// master, and caddy-mfa decides on what it reads (an update's old value, whether a record still
// exists), so a stale answer could drop a write or a record from a listing; and go-redis panics
// on some of them with Sentinel.
var replicaReads = []string{"read_only", "route_by_latency", "route_randomly", "replica_only"}

func refuseReplicaReads(q url.Values) error {
	for _, name := range replicaReads {
		if q.Has(name) {
			return fmt.Errorf("%s is not supported: caddy-mfa reads and writes on the master only, since a replica's answer may be stale", name)
		}
	}
	return nil
}

// isClusterNode asks a node whether it is part of a Redis Cluster. A server that refuses INFO
// (some managed services rename it) is taken at the URL's word.
func isClusterNode(ctx context.Context, node *redis.Client) bool {
	info, err := node.Info(ctx, "cluster").Result()
	return err == nil && strings.Contains(info, "cluster_enabled:1")
}

// openDetectedCluster reopens a plain URL that names a Cluster node as the Cluster: a plain
// client would answer every key of another node's slots with MOVED.
func openDetectedCluster(ctx context.Context, node *redis.Client, rawURL string) (redis.UniversalClient, error) {
	_ = node.Close()
	u, _ := url.Parse(rawURL) // parsed once already
	q := u.Query()
	q.Set("mode", "cluster")
	u.RawQuery = q.Encode()
	t, err := parseTarget(u.String())
	if err != nil {
		return nil, err
	}
	client := t.client()
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("redis at %s is a Redis Cluster node, but the cluster does not answer (?mode=cluster): %w", redacted(rawURL), err)
	}
	return client, nil
}

// clusterDatabaseError: a URL that selects a database other than 0 reached a Cluster node.
func clusterDatabaseError(rawURL string, db int) error {
	return fmt.Errorf("redis url %s: the server is a Redis Cluster node, which has only database 0: drop /%d and write ?mode=cluster (with &addr=host:port for more nodes)", redacted(rawURL), db)
}

// redacted hides a password in a URL for messages.
func redacted(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable url)"
	}
	return u.Redacted()
}
