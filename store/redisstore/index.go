package redisstore

import (
	"context"
	"strings"

	"github.com/redis/go-redis/v9"
)

// The folder index. Every record key "a/b/c" is a member of the Redis set of each folder it is
// in, "a/" and "a/b/", so List of a folder is one SMEMBERS, however many other keys the
// database holds. A key with no "/" is in no folder; List of a prefix without "/" scans.
//
// The record and its sets live in different slots of a Cluster (no hash tags: see doc.go), so
// nothing makes them change together. The order does instead, and every step of a caller's
// sequence runs only after the one before it has been answered (in one pipeline on a single
// master, which runs a connection's commands in order; one round trip after another on a
// Cluster):
//
//	write:  SADD the key to its folders, write the record, SADD again
//	remove: delete the record, SREM the key from its folders, EXISTS the record, and SADD
//	        again when it exists
//
// A crash leaves at worst a member without a record (List filters and prunes those), never a
// record without its member. The second SADD and the EXISTS undo a remover (Delete, or List
// pruning) whose SREM fell between another node's first SADD and its write; with them, a
// record missing from its folders takes a crash and such a race together.

// indexKey is the set of folder's keys. The store's records all begin with s.prefix ("mfa/"),
// the sets with "mfa#index:", so no record prefix ever matches a set and no key name clashes.
func (s *Store) indexKey(folder string) string { return s.base() + "#index:" + folder }

// base is the prefix without its slash.
func (s *Store) base() string { return strings.TrimSuffix(s.prefix, "/") }

// folders are the folders key is in, outermost first: "a/b/c" is in "a/" and "a/b/".
func folders(key string) []string {
	var out []string
	for i := 0; i < len(key); i++ {
		if key[i] == '/' {
			out = append(out, key[:i+1])
		}
	}
	return out
}

// folderOf is the folder a List prefix looks in: "devices/al" looks in "devices/".
func folderOf(prefix string) string {
	return prefix[:strings.LastIndexByte(prefix, '/')+1]
}

// step is one stage of an ordered sequence: commands queued on a pipeline.
type step func(p redis.Pipeliner)

// inOrder runs the steps one after the other: as one pipeline on a single master (a connection's
// commands run in the order sent), as one round trip each on a Cluster, whose pipelines send to
// several masters at once and so keep no order between keys of different slots.
func (s *Store) inOrder(ctx context.Context, steps ...step) ([]redis.Cmder, error) {
	if !s.cluster {
		p := s.client.Pipeline()
		for _, st := range steps {
			st(p)
		}
		return p.Exec(ctx)
	}
	var all []redis.Cmder
	for _, st := range steps {
		p := s.client.Pipeline()
		st(p)
		cmds, err := p.Exec(ctx)
		all = append(all, cmds...)
		if err != nil {
			return all, err
		}
	}
	return all, nil
}

// addMember queues the SADD of key to each of its folders.
func (s *Store) addMember(ctx context.Context, key string) step {
	return func(p redis.Pipeliner) {
		for _, f := range folders(key) {
			p.SAdd(ctx, s.indexKey(f), key)
		}
	}
}

// removeMember queues the SREM of key from each of its folders.
func (s *Store) removeMember(ctx context.Context, key string) step {
	return func(p redis.Pipeliner) {
		for _, f := range folders(key) {
			p.SRem(ctx, s.indexKey(f), key)
		}
	}
}

// indexedWrite writes a record in the index's order: member, record, member again.
func (s *Store) indexedWrite(ctx context.Context, key string, write step) ([]redis.Cmder, error) {
	if len(folders(key)) == 0 {
		return s.inOrder(ctx, write)
	}
	return s.inOrder(ctx, s.addMember(ctx, key), write, s.addMember(ctx, key))
}

// removeIndexed runs first (the record's deletion; nil when it is gone already), then removes
// keys from their folders, then puts back any whose record exists by now: another node wrote it
// in between.
func (s *Store) removeIndexed(ctx context.Context, first step, keys ...string) error {
	exists := make([]*redis.IntCmd, len(keys))
	remove := func(p redis.Pipeliner) {
		for _, k := range keys {
			s.removeMember(ctx, k)(p)
		}
	}
	check := func(p redis.Pipeliner) {
		for i, k := range keys {
			exists[i] = p.Exists(ctx, s.key(k))
		}
	}
	steps := []step{remove, check}
	if first != nil {
		steps = append([]step{first}, steps...)
	}
	if _, err := s.inOrder(ctx, steps...); err != nil {
		return err
	}
	var back []string
	for i, e := range exists {
		if e.Val() == 1 {
			back = append(back, keys[i])
		}
	}
	if len(back) == 0 {
		return nil
	}
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range back {
			s.addMember(ctx, k)(p)
		}
		return nil
	})
	return err
}
