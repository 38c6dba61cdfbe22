package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// KeySize is the length of an encryption key: AES-256.
const KeySize = 32

// ErrWrongKey means sealed data was made with another key, or was altered.
var ErrWrongKey = errors.New("sealed data does not open with this encryption key (wrong key, or the data was altered)")

// Sealer encrypts secrets at rest with AES-256-GCM. The additional data binds a sealed value to
// the record it belongs to, so a ciphertext copied into another record does not open.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer makes a Sealer from a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("encryption key: want %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext; the result is nonce || ciphertext || tag.
func (s *Sealer) Seal(plaintext, additional []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic("crypto/rand failed: " + err.Error()) // never returns an error on supported platforms
	}
	return s.aead.Seal(nonce, nonce, plaintext, additional)
}

// Open decrypts what Seal made with the same additional data.
func (s *Sealer) Open(sealed, additional []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, ErrWrongKey
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], additional)
	if err != nil {
		return nil, ErrWrongKey
	}
	return plain, nil
}

// keyCheckRecord holds a known value sealed under the store's key, so that starting with another
// key fails loudly instead of silently treating every secret as unreadable.
const keyCheckRecord = "keycheck"

var keyCheckPlain = []byte("caddy-mfa encryption key check v1")

// CheckKey proves that sealer holds the key the store's secrets were sealed with. On a store with
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
		return fmt.Errorf("encryption_key is not the key this store's secrets were sealed with: %w", err)
	}
	return nil
}
