package store

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// KeySize is the length of an encryption key: AES-256.
const KeySize = 32

// ErrWrongKey means sealed data was made with another key, or was altered.
var ErrWrongKey = errors.New("sealed data does not open with this encryption key (wrong key, or the data was altered)")

// keyIDSize is how many bytes name a key in what it sealed.
const keyIDSize = 4

// sealMagic starts a value that names its key: magic || key id || nonce || ciphertext || tag.
// Values sealed before keys were named are nonce || ciphertext || tag; they still open (every
// key is tried), so stores written by earlier versions need no migration.
var sealMagic = []byte("MFK1")

// Sealer encrypts secrets at rest with AES-256-GCM. The additional data binds a sealed value to
// the record it belongs to, so a ciphertext copied into another record does not open. It seals
// with its first key and opens with any of them, so the encryption key can rotate: the new key
// goes first, Reseal moves every record to it, then the old key can go.
type Sealer struct {
	keys []sealKey
}

type sealKey struct {
	id   [keyIDSize]byte
	aead cipher.AEAD
}

// NewSealer makes a Sealer from one or more 32-byte keys: the first seals, every one opens.
func NewSealer(keys ...[]byte) (*Sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("encryption key: none given")
	}
	s := &Sealer{keys: make([]sealKey, len(keys))}
	for i, key := range keys {
		k, err := newSealKey(key)
		if err != nil {
			return nil, fmt.Errorf("encryption key %d: %w", i+1, err)
		}
		for j := range i {
			if s.keys[j].id == k.id {
				return nil, fmt.Errorf("encryption key %d: the same key as key %d", i+1, j+1)
			}
		}
		s.keys[i] = k
	}
	return s, nil
}

func newSealKey(key []byte) (sealKey, error) {
	if len(key) != KeySize {
		return sealKey{}, fmt.Errorf("want %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return sealKey{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return sealKey{}, err
	}
	k := sealKey{aead: aead}
	copy(k.id[:], keyID(key))
	return k, nil
}

// keyID names a key without revealing it: a MAC keyed by the key itself, cut short.
func keyID(key []byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("caddy-mfa encryption key id"))
	return mac.Sum(nil)[:keyIDSize]
}

// Seal encrypts plaintext under the first key; the result names that key.
func (s *Sealer) Seal(plaintext, additional []byte) []byte {
	k := s.keys[0]
	n := k.aead.NonceSize()
	head := len(sealMagic) + keyIDSize
	out := make([]byte, head+n, head+n+len(plaintext)+k.aead.Overhead())
	copy(out, sealMagic)
	copy(out[len(sealMagic):], k.id[:])
	if _, err := rand.Read(out[head:]); err != nil {
		panic("crypto/rand failed: " + err.Error()) // never returns an error on supported platforms
	}
	return k.aead.Seal(out, out[head:], plaintext, additional)
}

// Open decrypts what Seal made with the same additional data, under whichever key sealed it:
// the key the value names first, then (for values from before keys were named) every key.
func (s *Sealer) Open(sealed, additional []byte) ([]byte, error) {
	if id, body, ok := namedKey(sealed); ok {
		for _, k := range s.keys {
			if k.id == id {
				if plain, err := open(k.aead, body, additional); err == nil {
					return plain, nil
				}
			}
		}
	}
	// An unnamed value, or one whose first bytes only look like a name.
	for _, k := range s.keys {
		if plain, err := open(k.aead, sealed, additional); err == nil {
			return plain, nil
		}
	}
	return nil, ErrWrongKey
}

// SealedWithFirst reports whether sealed names the first key: what Reseal leaves alone. It
// reads the name only, so an altered value may pass; Open still refuses it.
func (s *Sealer) SealedWithFirst(sealed []byte) bool {
	id, _, ok := namedKey(sealed)
	return ok && id == s.keys[0].id
}

func namedKey(sealed []byte) (id [keyIDSize]byte, body []byte, ok bool) {
	head := len(sealMagic) + keyIDSize
	if len(sealed) < head || !bytes.Equal(sealed[:len(sealMagic)], sealMagic) {
		return id, nil, false
	}
	copy(id[:], sealed[len(sealMagic):head])
	return id, sealed[head:], true
}

func open(aead cipher.AEAD, sealed, additional []byte) ([]byte, error) {
	n := aead.NonceSize()
	if len(sealed) < n+aead.Overhead() {
		return nil, ErrWrongKey
	}
	plain, err := aead.Open(nil, sealed[:n], sealed[n:], additional)
	if err != nil {
		return nil, ErrWrongKey
	}
	return plain, nil
}
