package redisstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// Store is a store.Store in Redis, with every key under a prefix.
type Store struct {
	client  redis.UniversalClient
	prefix  string
	cluster bool // the client is a Cluster's: keys of different slots are on different masters
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

// Put implements store.Store, indexing the key first (see index.go).
func (s *Store) Put(ctx context.Context, key string, value []byte) error {
	_, err := s.indexedWrite(ctx, key, func(p redis.Pipeliner) { p.Set(ctx, s.key(key), value, 0) })
	return err
}

// Delete implements store.Store, unindexing the key after the record is gone.
func (s *Store) Delete(ctx context.Context, key string) error {
	return s.removeIndexed(ctx, func(p redis.Pipeliner) { p.Del(ctx, s.key(key)) }, key)
}

// maxRetries bounds optimistic retries of one Update under contention.
const maxRetries = 100

// Update implements store.Store. Rewriting a record that exists, the common case (a device's
// counter), is a GET and a compare-and-set script: two round trips. Creating or removing one
// touches the folder index too, and goes through WATCH, compute and MULTI/EXEC: inside the
// transaction on a single master, around it on a Cluster. Either way another node's write in
// between makes the change fail, and the update runs again on the new value.
func (s *Store) Update(ctx context.Context, key string, fn func(old []byte) ([]byte, error)) error {
	for attempt := range maxRetries {
		if err := backOff(ctx, attempt); err != nil {
			return err
		}
		old, err := s.client.Get(ctx, s.key(key)).Bytes()
		if errors.Is(err, redis.Nil) {
			return s.watchedUpdate(ctx, key, fn)
		}
		if err != nil {
			return err
		}
		if done, err := s.updateFrom(ctx, key, old, fn); done {
			return err
		}
	}
	return errContention(key)
}

// updateFrom runs fn on old, what key held when it was read, and writes the result with the
// compare-and-set script, or removes the record through watchedUpdate. done is false when the
// record no longer held old: it must be read again.
func (s *Store) updateFrom(ctx context.Context, key string, old []byte, fn func(old []byte) ([]byte, error)) (done bool, err error) {
	next, err := fn(old)
	if err != nil {
		return true, err
	}
	switch store.Decide(old, next) {
	case store.Unchanged:
		return true, nil
	case store.Remove:
		return true, s.watchedUpdate(ctx, key, fn)
	}
	swapped, err := s.compareAndSet(ctx, key, old, next)
	return swapped || err != nil, err
}

// UpdateSeen implements store.SeenUpdater: the compare-and-set script straight away, against
// the value the caller read, so a record nobody changed since costs one round trip instead of
// two. When it changed, Update runs as usual on the value it holds now.
func (s *Store) UpdateSeen(ctx context.Context, key string, seen []byte, fn func(old []byte) ([]byte, error)) error {
	if done, err := s.updateFrom(ctx, key, seen, fn); done {
		return err
	}
	return s.Update(ctx, key, fn)
}

// backOff waits before an Update's next attempt after a lost race, a random while that grows
// with the attempts (up to 3.2 ms), so that writers of one hot record (parallel guesses at one
// device) spread out instead of colliding again until the retries run out.
func backOff(ctx context.Context, attempt int) error {
	if attempt == 0 {
		return nil
	}
	return store.Sleep(ctx, rand.N(50*time.Microsecond<<min(attempt-1, 6)))
}

// errContention is an Update that lost its race maxRetries times in a row.
func errContention(key string) error { return fmt.Errorf("updating %s: too much contention", key) }

// casScript sets KEYS[1] to ARGV[2] if it still holds ARGV[1]: a record another node rewrote
// or removed since it was read is left alone. Comparing the whole value (a few hundred bytes)
// is sound for an update, which depends on the value only.
var casScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0
`)

func (s *Store) compareAndSet(ctx context.Context, key string, old, next []byte) (bool, error) {
	keys, args := []string{s.key(key)}, []any{old, next}
	n, err := casScript.EvalSha(ctx, s.client, keys, args...).Int()
	if redis.HasErrorPrefix(err, "NOSCRIPT") { // the first time on this master: send the source
		n, err = casScript.Eval(ctx, s.client, keys, args...).Int()
	}
	return n == 1, err
}

// watchedUpdate is Update of a record being created or removed: WATCH the key, compute, and
// MULTI/EXEC the change with the index's.
func (s *Store) watchedUpdate(ctx context.Context, key string, fn func(old []byte) ([]byte, error)) error {
	k := s.key(key)
	for attempt := range maxRetries {
		if err := backOff(ctx, attempt); err != nil {
			return err
		}
		var change store.Change
		var created bool
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
			if change = store.Decide(old, next); change == store.Unchanged {
				return nil
			}
			created = old == nil && len(folders(key)) > 0
			return s.commit(ctx, tx, key, change, created, next)
		}, k)
		switch {
		case errors.Is(err, redis.TxFailedErr):
			continue
		case err != nil || !s.cluster:
			return err
		case change == store.Remove:
			return s.removeIndexed(ctx, nil, key)
		case created:
			_, err = s.inOrder(ctx, s.addMember(ctx, key))
		}
		return err
	}
	return errContention(key)
}

// commit writes an Update's change in the transaction. Creating a record indexes it first: in
// the transaction itself on a single master, before EXEC on a Cluster (whose sets are in other
// slots; Update adds the member again after EXEC, as every write there does).
func (s *Store) commit(ctx context.Context, tx *redis.Tx, key string, change store.Change, created bool, next []byte) error {
	index := created && change == store.Write
	if index && s.cluster {
		if _, err := s.inOrder(ctx, s.addMember(ctx, key)); err != nil {
			return err
		}
	}
	_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
		switch {
		case change == store.Remove:
			p.Del(ctx, s.key(key))
			if !s.cluster {
				s.removeMember(ctx, key)(p)
			}
		case index && !s.cluster:
			s.addMember(ctx, key)(p)
			p.Set(ctx, s.key(key), next, 0)
		default:
			p.Set(ctx, s.key(key), next, 0)
		}
		return nil
	})
	return err
}

// Interface guards
var (
	_ store.Store       = (*Store)(nil)
	_ store.BatchReader = (*Store)(nil)
	_ store.SeenUpdater = (*Store)(nil)
)
