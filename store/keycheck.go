package store

import (
	"context"
	"errors"
	"fmt"
)

// keyCheckRecord holds a known value sealed under the store's key, so that starting with another
// key fails loudly instead of silently treating every secret as unreadable. Reseal seals it
// under the first key last, so a store whose check opens with the first key alone has been
// resealed whole.
const keyCheckRecord = "keycheck"

var keyCheckPlain = []byte("caddy-mfa encryption key check v1")

// CheckKey proves that sealer holds a key the store's secrets were sealed with. On a store with
// no secrets yet it records the proof for the next start.
func CheckKey(ctx context.Context, st Store, sealer *Sealer) error {
	return st.Update(ctx, keyCheckRecord, func(old []byte) ([]byte, error) {
		if old == nil {
			return sealer.Seal(keyCheckPlain, []byte(keyCheckRecord)), nil
		}
		if err := openKeyCheck(sealer, old); err != nil {
			return nil, err
		}
		return old, nil
	})
}

// VerifyKey is CheckKey without the write, for checking a config without changing anything: a
// store with no proof yet passes.
func VerifyKey(ctx context.Context, st Store, sealer *Sealer) error {
	old, err := st.Get(ctx, keyCheckRecord)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the key check: %w", err)
	}
	return openKeyCheck(sealer, old)
}

func openKeyCheck(sealer *Sealer, sealed []byte) error {
	if _, err := sealer.Open(sealed, []byte(keyCheckRecord)); err != nil {
		return fmt.Errorf("encryption_key is not the key this store's secrets were sealed with (no key given opens the key check; was an old key removed before `caddy mfa reseal` finished?): %w", err)
	}
	return nil
}
