package store

import (
	"bytes"
	"context"
	"errors"
)

// ErrNotFound is returned by Get when a key holds no value.
var ErrNotFound = errors.New("not found")

// Store keeps the gateway's records. Keys are slash-separated ("users/alice"); values are opaque
// bytes. Every method is safe for concurrent use, from one process or many sharing the backend.
type Store interface {
	// Get returns the value at key, or ErrNotFound.
	Get(ctx context.Context, key string) ([]byte, error)

	// Put writes value at key whole: a reader sees the old value or the new one, never a mix.
	Put(ctx context.Context, key string, value []byte) error

	// Delete removes key. Deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error

	// List returns every key that starts with prefix, in no particular order.
	List(ctx context.Context, prefix string) ([]string, error)

	// Update reads key, calls fn with its value (nil when missing) and stores what fn returns,
	// atomically with respect to every other Update of the same key on every node sharing the
	// backend. A nil result deletes the key; a result equal to old writes nothing. An error from fn
	// aborts the update, changes nothing and is returned as is. fn may run more than once (optimistic
	// backends retry on conflict), so it must have no side effects.
	Update(ctx context.Context, key string, fn func(old []byte) ([]byte, error)) error
}

// Change is what an Update should do with the value its function returned.
type Change int

const (
	Unchanged Change = iota // nothing to write
	Write                   // store next
	Remove                  // delete the key
)

// Decide tells a backend what to do after an Update function turned old into next: nil deletes,
// an equal value writes nothing.
func Decide(old, next []byte) Change {
	switch {
	case next == nil && old == nil:
		return Unchanged
	case next == nil:
		return Remove
	case old != nil && bytes.Equal(old, next):
		return Unchanged
	}
	return Write
}

// Apply is an Update's work once the caller holds key (a backend's lock, or a store nobody else
// uses yet): read the value, ask fn, write or delete what it decided.
func Apply(ctx context.Context, s Store, key string, fn func(old []byte) ([]byte, error)) error {
	old, err := s.Get(ctx, key)
	if errors.Is(err, ErrNotFound) {
		old, err = nil, nil
	}
	if err != nil {
		return err
	}
	next, err := fn(old)
	if err != nil {
		return err
	}
	switch Decide(old, next) {
	case Remove:
		return s.Delete(ctx, key)
	case Write:
		return s.Put(ctx, key, next)
	}
	return nil
}

// ReplaceRecord writes value at key through Update rather than Put, so that an Update running
// meanwhile on another node (a reseal, say) cannot write its older value back over this one:
// on backends that serialise Updates by a lock, only writers that take the lock are safe.
func ReplaceRecord(ctx context.Context, st Store, key string, value []byte) error {
	return st.Update(ctx, key, func([]byte) ([]byte, error) { return value, nil })
}

// RemoveRecord deletes key through Update rather than Delete, for the same reason as ReplaceRecord: a
// concurrent Update must not bring a deleted record back.
func RemoveRecord(ctx context.Context, st Store, key string) error {
	return st.Update(ctx, key, func([]byte) ([]byte, error) { return nil, nil })
}
