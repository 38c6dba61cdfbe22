package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// Store is a store.Store in Redis, with every key under a prefix.
type Store struct {
	client redis.UniversalClient
	prefix string
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

// List implements store.Store with SCAN ... MATCH <prefix>* (on every master of a Cluster, at
// once). Each call walks the whole keyspace of every master, COUNT keys a round trip, MATCH only
// choosing what comes back: its cost grows with all the records, not with the answer (see
// docs/operations.md). Keys are escaped by store.Key, so a prefix holds no glob character but
// the ones escaped here.
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	pattern := globEscape(s.key(prefix)) + "*"
	scan := func(ctx context.Context, c redis.Cmdable) ([]string, error) {
		var out []string
		iter := c.Scan(ctx, 0, pattern, scanCount).Iterator()
		for iter.Next(ctx) {
			out = append(out, strings.TrimPrefix(iter.Val(), s.prefix))
		}
		return out, iter.Err()
	}
	cc, ok := s.client.(*redis.ClusterClient)
	if !ok {
		return scan(ctx, s.client)
	}
	var mu sync.Mutex
	var all []string
	err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		keys, err := scan(ctx, c)
		mu.Lock()
		defer mu.Unlock()
		all = append(all, keys...)
		return err
	})
	return all, err
}

// scanCount is the keys one SCAN round trip walks: enough that a million keys take 2,000 round
// trips, few enough that one step never holds a busy server for long.
const scanCount = 500

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
