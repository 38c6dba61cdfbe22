package identity

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// A passkey answers with its user's handle, not a name: ByHandle finds the user. An index
// (handles/<hex>) answers at once; every user made since it exists is in it. The users made
// before it are found by reading every user once, the first time a handle is missing, which
// completes the index; after that a handle it lacks is nobody's, and costs no scan (a passkey
// sign-in names any handle it likes, so a miss must be cheap).

func handleKey(handle []byte) string { return store.Key("handles", hex.EncodeToString(handle)) }

// handlesComplete marks an index that holds every user's handle.
const handlesComplete = "handles-complete"

// indexHandle puts u's handle in the index.
func (d *Directory) indexHandle(ctx context.Context, u *User) error {
	if len(u.Handle) == 0 {
		return nil
	}
	return d.store.Put(ctx, handleKey(u.Handle), []byte(u.Name))
}

// ByHandle returns the user whose WebAuthn handle is handle, or ErrNoSuchUser.
func (d *Directory) ByHandle(ctx context.Context, handle []byte) (*User, error) {
	if len(handle) == 0 {
		return nil, fmt.Errorf("%w: an empty handle", ErrNoSuchUser)
	}
	raw, err := d.store.Get(ctx, handleKey(handle))
	if err == nil {
		if u, err := d.Get(ctx, string(raw)); err == nil && bytes.Equal(u.Handle, handle) {
			return u, nil
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if _, err := d.store.Get(ctx, handlesComplete); err == nil {
		return nil, fmt.Errorf("%w: no user has that handle", ErrNoSuchUser)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	users, err := d.List(ctx)
	if err != nil {
		return nil, err
	}
	var found *User
	for _, u := range users {
		if len(u.Handle) == 0 {
			continue
		}
		if err := d.indexHandle(ctx, u); err != nil {
			return nil, err
		}
		if bytes.Equal(u.Handle, handle) {
			found = u
		}
	}
	if err := d.store.Put(ctx, handlesComplete, []byte("1")); err != nil {
		return nil, err
	}
	if found == nil {
		return nil, fmt.Errorf("%w: no user has that handle", ErrNoSuchUser)
	}
	return found, nil
}
