package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrUnreadable means a record is not whole JSON: a crashed writer's temporary file, say. Code
// that lists records skips such entries; code that reads one record reports it.
var ErrUnreadable = errors.New("record is unreadable")

// GetJSON reads the record at key into a new T.
func GetJSON[T any](ctx context.Context, st Store, key string) (*T, error) {
	raw, err := st.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	v := new(T)
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUnreadable, key, err)
	}
	return v, nil
}

// PutJSON writes v as the record at key.
func PutJSON(ctx context.Context, st Store, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("record %s: %w", key, err)
	}
	return st.Put(ctx, key, raw)
}

// UpdateJSON is Update on a JSON record. fn gets nil when the record is missing, and returns the
// new record, or nil to delete it. The same rules as Update apply: fn may run more than once.
func UpdateJSON[T any](ctx context.Context, st Store, key string, fn func(old *T) (*T, error)) error {
	return st.Update(ctx, key, jsonUpdate(key, fn))
}

// UpdateJSONSeen is UpdateSeen on a JSON record: seen is the record's bytes as just read.
func UpdateJSONSeen[T any](ctx context.Context, st Store, key string, seen []byte, fn func(old *T) (*T, error)) error {
	return UpdateSeen(ctx, st, key, seen, jsonUpdate(key, fn))
}

// jsonUpdate turns an update of decoded records into one of their bytes.
func jsonUpdate[T any](key string, fn func(old *T) (*T, error)) func([]byte) ([]byte, error) {
	return func(raw []byte) ([]byte, error) {
		old, err := decodeOld[T](key, raw)
		if err != nil {
			return nil, err
		}
		return encodeNext(fn(old))
	}
}

// decodeOld decodes an update's old value; nil stays nil (no record).
func decodeOld[T any](key string, raw []byte) (*T, error) {
	if raw == nil {
		return nil, nil
	}
	old := new(T)
	if err := json.Unmarshal(raw, old); err != nil {
		return nil, fmt.Errorf("record %s is unreadable: %w", key, err)
	}
	return old, nil
}

// encodeNext encodes what an update's function returned: nil deletes the record.
func encodeNext[T any](next *T, err error) ([]byte, error) {
	if err != nil || next == nil {
		return nil, err
	}
	return json.Marshal(next)
}
