// Package redisstore keeps caddy-mfa's records in Redis, for clusters of Caddy nodes: a single
// node, Sentinel or Cluster through go-redis's UniversalClient. Update is atomic across nodes
// (WATCH/MULTI, retried on conflict), so one-time codes, lockout counts, recovery codes and
// WebAuthn ceremonies hold on every node at once.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// Store is a store.Store in Redis, with every key under a prefix.
type Store struct {
	client redis.UniversalClient
	prefix string
}

// Open connects to the Redis that rawURL names and checks that it answers:
//
//	redis://[user:password@]host:port[/db]                        a single node
//	rediss://...                                                  the same over TLS
//	redis://host:26379?master_name=mymaster[&addr=host2:26379]     Sentinel
//	redis://host:7000?mode=cluster[&addr=host2:7000]              Cluster
func Open(ctx context.Context, rawURL, prefix string) (*Store, error) {
	client, err := newClient(rawURL)
	if err != nil {
		return nil, err
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.Ping(pingCtx).Err(); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("redis at %s does not answer: %w", redacted(rawURL), err)
	}
	return &Store{client: client, prefix: strings.Trim(prefix, "/") + "/"}, nil
}

func newClient(rawURL string) (redis.UniversalClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
		return nil, fmt.Errorf("redis url %s: want redis:// or rediss://", redacted(rawURL))
	}
	q := u.Query()
	mode := q.Get("mode")
	q.Del("mode")
	u.RawQuery = q.Encode()
	switch {
	case mode == "cluster":
		o, err := redis.ParseClusterURL(u.String())
		if err != nil {
			return nil, fmt.Errorf("redis cluster url %s: %w", redacted(rawURL), err)
		}
		return redis.NewClusterClient(o), nil
	case mode != "":
		return nil, fmt.Errorf("redis url %s: mode must be cluster (or left out)", redacted(rawURL))
	case q.Get("master_name") != "":
		o, err := redis.ParseFailoverURL(u.String())
		if err != nil {
			return nil, fmt.Errorf("redis sentinel url %s: %w", redacted(rawURL), err)
		}
		return redis.NewFailoverClient(o), nil
	}
	o, err := redis.ParseURL(u.String())
	if err != nil {
		return nil, fmt.Errorf("redis url %s: %w", redacted(rawURL), err)
	}
	return redis.NewClient(o), nil
}

// redacted hides a password in a URL for messages.
func redacted(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable url)"
	}
	return u.Redacted()
}

// Close ends the connections.
func (s *Store) Close() error { return s.client.Close() }

func (s *Store) key(k string) string { return s.prefix + k }

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	v, err := s.client.Get(ctx, s.key(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, store.ErrNotFound
	}
	return v, err
}

// Put implements store.Store.
func (s *Store) Put(ctx context.Context, key string, value []byte) error {
	return s.client.Set(ctx, s.key(key), value, 0).Err()
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, key string) error {
	return s.client.Del(ctx, s.key(key)).Err()
}

// List implements store.Store with SCAN (on every master of a cluster). Keys are escaped by
// store.Key, so a prefix holds no glob character but the ones escaped here.
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	pattern := globEscape(s.key(prefix)) + "*"
	var out []string
	scan := func(ctx context.Context, c redis.Cmdable) error {
		iter := c.Scan(ctx, 0, pattern, 500).Iterator()
		for iter.Next(ctx) {
			out = append(out, strings.TrimPrefix(iter.Val(), s.prefix))
		}
		return iter.Err()
	}
	if cc, ok := s.client.(*redis.ClusterClient); ok {
		var mu sync.Mutex // masters are scanned in parallel
		err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			mu.Lock()
			defer mu.Unlock()
			return scan(ctx, c)
		})
		return out, err
	}
	return out, scan(ctx, s.client)
}

func globEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`).Replace(s)
}

// maxRetries bounds optimistic retries of one Update under contention.
const maxRetries = 100

// Update implements store.Store: WATCH the key, compute, and MULTI/EXEC the change; another
// node's write in between makes EXEC fail, and the update runs again on the new value.
func (s *Store) Update(ctx context.Context, key string, fn func(old []byte) ([]byte, error)) error {
	k := s.key(key)
	for range maxRetries {
		err := s.client.Watch(ctx, func(tx *redis.Tx) error {
			old, err := tx.Get(ctx, k).Bytes()
			if errors.Is(err, redis.Nil) {
				old, err = nil, nil
			}
			if err != nil {
				return err
			}
			next, err := fn(old)
			if err != nil {
				return err
			}
			change := store.Decide(old, next)
			if change == store.Unchanged {
				return nil
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				if change == store.Remove {
					p.Del(ctx, k)
				} else {
					p.Set(ctx, k, next, 0)
				}
				return nil
			})
			return err
		}, k)
		if !errors.Is(err, redis.TxFailedErr) {
			return err
		}
	}
	return fmt.Errorf("updating %s: too much contention", key)
}

// Interface guards
var _ store.Store = (*Store)(nil)
