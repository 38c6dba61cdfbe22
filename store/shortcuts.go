package store

import (
	"context"
	"errors"
)

// Shortcuts for the hot path of a sign-in, which a backend whose every call is a network round
// trip (Redis) answers in fewer calls. Callers go through the functions below; a backend without
// a shortcut is asked through its Store methods, with the same results.

// BatchReader is a Store that reads several records in one call.
type BatchReader interface {
	// GetMany returns the values at keys, in order, with nil where a key holds none.
	GetMany(ctx context.Context, keys []string) ([][]byte, error)

	// ListUnchecked returns every key that starts with prefix, and perhaps some deleted ones:
	// List without its check that each key still holds a record.
	ListUnchecked(ctx context.Context, prefix string) ([]string, error)
}

// SeenUpdater is a Store that can start an Update from a value the caller has just read.
type SeenUpdater interface {
	UpdateSeen(ctx context.Context, key string, seen []byte, fn func(old []byte) ([]byte, error)) error
}

// GetMany reads the records at keys, in order, with nil where a key holds none.
func GetMany(ctx context.Context, st Store, keys []string) ([][]byte, error) {
	if b, ok := st.(BatchReader); ok {
		return b.GetMany(ctx, keys)
	}
	out := make([][]byte, len(keys))
	for i, k := range keys {
		v, err := st.Get(ctx, k)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// ListUnchecked is List for a caller that reads each record anyway and passes over missing ones:
// the keys may include some whose record was deleted, which spares a backend with an index its
// check of each (a round trip on Redis).
func ListUnchecked(ctx context.Context, st Store, prefix string) ([]string, error) {
	if b, ok := st.(BatchReader); ok {
		return b.ListUnchecked(ctx, prefix)
	}
	return st.List(ctx, prefix)
}

// UpdateSeen is Update for a caller that has just read key's value, seen (nil: not read). A
// backend that compares and sets (Redis) runs fn on seen and writes its result only if the
// record still holds seen, sparing the read; if it does not, the update runs again on the
// value it holds now, as Update does. So a write always rests on the current value, but an
// error from fn, or a result that writes nothing, may rest on seen: use it where refusing on
// the value just read is right. Backends that lock read under the lock as Update does.
func UpdateSeen(ctx context.Context, st Store, key string, seen []byte, fn func(old []byte) ([]byte, error)) error {
	if u, ok := st.(SeenUpdater); ok && seen != nil {
		return u.UpdateSeen(ctx, key, seen, fn)
	}
	return st.Update(ctx, key, fn)
}
