package redisstore

import "github.com/redis/go-redis/v9"

// Raw is the store's client, for tests that write around the store (a crash, data from before
// the index).
func (s *Store) Raw() redis.UniversalClient { return s.client }

// IndexKey is the Redis set of folder, for tests.
func (s *Store) IndexKey(folder string) string { return s.indexKey(folder) }

// RecordKey is the Redis key of a record, for tests.
func (s *Store) RecordKey(key string) string { return s.key(key) }

// BuiltKey is the mark of a built index, for tests.
func (s *Store) BuiltKey() string { return s.builtKey() }
