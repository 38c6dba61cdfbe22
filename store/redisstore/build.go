package redisstore

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// builtKey marks a store whose folder index holds every record: set by the one-time build, or
// by the first Open of an empty store.
func (s *Store) builtKey() string { return s.base() + "#index-built" }

// buildBatch is how many records one pipeline of the build indexes.
const buildBatch = 1000

// ensureIndex builds the folder index from the records once, for data written before it existed
// (see docs/operations.md, "Upgrading to the folder index"). The build only adds members, so
// nodes that start at once and all build do the same work twice, never harm: a member of a
// record deleted meanwhile is one List filters and prunes. The mark is set only once the whole
// keyspace was indexed; a build cut short runs again at the next start.
func (s *Store) ensureIndex(ctx context.Context) error {
	n, err := s.client.Exists(ctx, s.builtKey()).Result()
	if err != nil || n == 1 {
		return err
	}
	keys, err := s.scan(ctx, "")
	if err != nil {
		return fmt.Errorf("building the redis folder index: %w", err)
	}
	for len(keys) > 0 {
		batch := keys[:min(buildBatch, len(keys))]
		keys = keys[len(batch):]
		if _, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range batch {
				s.addMember(ctx, k)(p)
			}
			return nil
		}); err != nil {
			return fmt.Errorf("building the redis folder index: %w", err)
		}
	}
	return s.client.Set(ctx, s.builtKey(), "1", 0).Err()
}
