package session

import (
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// TokenCache remembers tokens that verified, so a client that sends the same token on every
// request pays for the HMAC once. Bounded: the least recent tokens are forgotten; made-up
// tokens never enter it, since only verified ones are added.
type TokenCache struct {
	ring  *KeyRing
	cache *lru.Cache[string, Claims]
}

// TokenCacheSize bounds the cache: about 400 bytes a token.
const TokenCacheSize = 8192

// NewTokenCache makes a cache in front of ring.
func NewTokenCache(ring *KeyRing) *TokenCache {
	c, _ := lru.New[string, Claims](TokenCacheSize)
	return &TokenCache{ring: ring, cache: c}
}

// Verify is KeyRing.Verify, answered from the cache when the token verified before. Expiry is
// checked on every call; revocation remains the caller's check.
func (t *TokenCache) Verify(token string, now time.Time) (Claims, error) {
	if c, ok := t.cache.Get(token); ok {
		if !now.Before(c.Expires) {
			return Claims{}, ErrExpired
		}
		return c, nil
	}
	c, err := t.ring.Verify(token, now)
	if err == nil {
		t.cache.Add(token, c)
	}
	return c, err
}
