package redisstore

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// List implements store.Store from the folder index: one SMEMBERS of the prefix's folder, then
// one EXISTS a member (pipelined) to drop members whose record is gone, which it prunes. Its
// cost grows with the folder, not with the database. A prefix with no "/" is in no folder, and
// is answered with a SCAN of every master (no caller lists one).
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	keys, err := s.ListUnchecked(ctx, prefix)
	if err != nil || len(keys) == 0 || folderOf(prefix) == "" {
		return keys, err
	}
	live, gone, err := s.existing(ctx, keys)
	if err != nil {
		return nil, err
	}
	if len(gone) > 0 {
		if err := s.removeIndexed(ctx, nil, gone...); err != nil {
			return nil, err
		}
	}
	return live, nil
}

// ListUnchecked implements store.BatchReader: List's SMEMBERS alone, one round trip, whose
// members may include records removed by a writer that crashed before unindexing them.
func (s *Store) ListUnchecked(ctx context.Context, prefix string) ([]string, error) {
	folder := folderOf(prefix)
	if folder == "" {
		return s.scan(ctx, prefix)
	}
	members, err := s.client.SMembers(ctx, s.indexKey(folder)).Result()
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, m := range members {
		if strings.HasPrefix(m, prefix) {
			keys = append(keys, m)
		}
	}
	return keys, nil
}

// GetMany implements store.BatchReader: one pipelined GET a key, one round trip on a single
// master (a Cluster's pipeline goes to each master at once).
func (s *Store) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	gets := make([]*redis.StringCmd, len(keys))
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			gets[i] = p.Get(ctx, s.key(k))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	out := make([][]byte, len(keys))
	for i, g := range gets {
		v, err := g.Bytes()
		switch {
		case errors.Is(err, redis.Nil):
		case err != nil:
			return nil, err
		default:
			out[i] = v
		}
	}
	return out, nil
}

// existing splits keys into those whose record exists and those whose record is gone (a crash
// between the steps of a write or a delete, a record Redis evicted).
func (s *Store) existing(ctx context.Context, keys []string) (live, gone []string, err error) {
	exists := make([]*redis.IntCmd, len(keys))
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			exists[i] = p.Exists(ctx, s.key(k))
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	for i, e := range exists {
		if e.Val() == 1 {
			live = append(live, keys[i])
		} else {
			gone = append(gone, keys[i])
		}
	}
	return live, gone, nil
}

// scan lists with SCAN ... MATCH <prefix>* on every master at once. It walks the whole keyspace,
// COUNT keys a round trip; only prefixes without "/" and the index's one-time build use it. Keys
// are escaped by store.Key, so a prefix holds no glob character but the ones escaped here.
func (s *Store) scan(ctx context.Context, prefix string) ([]string, error) {
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
