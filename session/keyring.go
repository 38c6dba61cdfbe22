package session

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"sync"
)

// MinKeySize is the shortest signing key accepted.
const MinKeySize = 32

// KeyRing holds the signing keys: the first signs, every one verifies, so a new key can be put
// first and the old one dropped a token lifetime later without signing anybody out.
type KeyRing struct {
	keys []ringKey
}

type ringKey struct {
	id     [4]byte // first bytes of SHA-256(key): tells a verifier which key to try
	secret []byte
	macs   sync.Pool // of *macState: HMAC set-up costs more than the short messages it signs
}

// macState is a keyed HMAC with room for its sum, so checking a MAC allocates nothing.
type macState struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

// NewKeyRing makes a ring from one or more keys of at least MinKeySize bytes.
func NewKeyRing(secrets ...[]byte) (*KeyRing, error) {
	if len(secrets) == 0 {
		return nil, errors.New("signing_keys: at least one key is needed")
	}
	r := &KeyRing{keys: make([]ringKey, len(secrets))}
	for i, s := range secrets {
		if len(s) < MinKeySize {
			return nil, fmt.Errorf("signing_keys: key %d is %d bytes, want at least %d", i+1, len(s), MinKeySize)
		}
		k := &r.keys[i]
		sum := sha256.Sum256(s)
		copy(k.id[:], sum[:])
		k.secret = append([]byte(nil), s...)
		k.macs.New = func() any { return &macState{h: hmac.New(sha256.New, k.secret)} }
	}
	return r, nil
}

func (k *ringKey) mac(parts ...[]byte) []byte {
	m := k.macs.Get().(*macState)
	m.h.Reset()
	for _, p := range parts {
		m.h.Write(p)
	}
	sum := m.h.Sum(nil)
	k.macs.Put(m)
	return sum
}

// verifyMAC reports in constant time whether mac is the MAC of msg.
func (k *ringKey) verifyMAC(msg, mac []byte) bool {
	m := k.macs.Get().(*macState)
	m.h.Reset()
	m.h.Write(msg)
	ok := hmac.Equal(m.h.Sum(m.sum[:0]), mac)
	k.macs.Put(m)
	return ok
}

func (r *KeyRing) signer() *ringKey { return &r.keys[0] }

func (r *KeyRing) byID(id []byte) *ringKey {
	for i := range r.keys {
		if hmac.Equal(r.keys[i].id[:], id) {
			return &r.keys[i]
		}
	}
	return nil
}

// cookieKeyPairs are the key pairs of the cookie codecs (securecookie): a hash key derived
// from each ring key, in ring order, each with no block key. gorilla reads its arguments as
// hash, block, hash, block...: given one key per ring key, it made the second ring key the first
// one's block key, so a rotation signed every browser out. The cookie's value is a signed token,
// which needs no encryption.
func (r *KeyRing) cookieKeyPairs() [][]byte {
	out := make([][]byte, 0, 2*len(r.keys))
	for i := range r.keys {
		out = append(out, r.keys[i].mac([]byte("caddy-mfa derive: cookie")), nil)
	}
	return out
}
