package caddymodule

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/session"
	"github.com/caddy-mfa/caddy-mfa/store/redisstore"
	"github.com/caddy-mfa/caddy-mfa/throttle"
)

// longLived holds the in-memory state that must outlive one config: the attempt throttles (a
// reload must not hand an attacker a fresh allowance), the verified-token cache of each set
// of signing keys, and the Redis client of each URL. Caddy provisions a new config before it cleans up the old one, so across a
// reload the usage count never drops to zero and the state carries on; it goes when no running
// config has the mfa app any more.
//
// Revocations and the access-key index are not here: they are copies of the store, read whole
// again at each Provision, and they hold the store connection of the config that made them.
var longLived = caddy.NewUsagePool()

const throttlesKey = "mfa.throttles"

// Attempt allowances: per source address, 30 password or factor attempts at once, then one
// every 2 s; per account, 10 password attempts at once, then one every 15 s.
const (
	addressBurst = 30
	addressEvery = 2 * time.Second
	accountBurst = 10
	accountEvery = 15 * time.Second
)

// stateClock is the clock of the long-lived state: time.Now, or a test's frozen clock.
var stateClock atomic.Pointer[func() time.Time]

func stateNow() time.Time {
	if f := stateClock.Load(); f != nil {
		return (*f)()
	}
	return time.Now()
}

type throttles struct {
	addresses *throttle.PerAddress
	accounts  *throttle.PerAccount
}

func (*throttles) Destruct() error { return nil }

type tokenCache struct{ *session.TokenCache }

func (tokenCache) Destruct() error { return nil }

// loadLongLived gives the operations layer the pooled throttles and the token cache of these
// signing keys, making them when this is the first config to need them; Cleanup releases them.
func (a *App) loadLongLived(d *auth.Deps, signing [][]byte) error {
	v, err := a.usePooled(throttlesKey, func() caddy.Destructor {
		return &throttles{
			addresses: throttle.NewPerAddress(addressBurst, addressEvery, stateNow),
			accounts:  throttle.NewPerAccount(accountBurst, accountEvery, stateNow),
		}
	})
	if err != nil {
		return err
	}
	d.Throttle, d.Accounts = v.(*throttles).addresses, v.(*throttles).accounts
	// A cache is only good for the keys that verified its tokens: other keys, another cache.
	v, err = a.usePooled("mfa.tokens."+keysFingerprint(signing), func() caddy.Destructor {
		return tokenCache{session.NewTokenCache(d.Ring)}
	})
	if err != nil {
		return err
	}
	d.TokenCache = v.(tokenCache).TokenCache
	return nil
}

func (a *App) usePooled(key string, construct func() caddy.Destructor) (any, error) {
	v, _, err := longLived.LoadOrNew(key, func() (caddy.Destructor, error) { return construct(), nil })
	if err != nil {
		return nil, fmt.Errorf("mfa: long-lived state %s: %w", key, err)
	}
	a.pooled = append(a.pooled, key)
	return v, nil
}

// releaseLongLived gives back what loadLongLived took; safe to call twice.
func (a *App) releaseLongLived() {
	for _, key := range a.pooled {
		_, _ = longLived.Delete(key)
	}
	a.pooled = nil
}

// pooledRedis is a Redis store in the usage pool, closed when no running config uses it.
type pooledRedis struct{ *redisstore.Store }

func (p pooledRedis) Destruct() error { return p.Close() }

// useRedis gives the config the Redis store of url, opening it when this is the first config to
// use that URL. One client serves every reload: each go-redis Cluster client keeps about 175 KiB
// after Close (measured with go-redis v9.23), so a client per reload grew the heap with every
// reload, and a reload need not redial what it already holds.
func (a *App) useRedis(ctx context.Context, url string) (*redisstore.Store, error) {
	h := sha256.Sum256([]byte(url)) // the URL may hold a password: the pool's key does not
	key := "mfa.redis." + hex.EncodeToString(h[:])
	v, _, err := longLived.LoadOrNew(key, func() (caddy.Destructor, error) {
		rs, err := redisstore.Open(ctx, url, "mfa")
		if err != nil {
			return nil, err
		}
		return pooledRedis{rs}, nil
	})
	if err != nil {
		return nil, err
	}
	a.pooled = append(a.pooled, key)
	return v.(pooledRedis).Store, nil
}

// keysFingerprint names a list of signing keys without revealing them.
func keysFingerprint(keys [][]byte) string {
	h := sha256.New()
	h.Write([]byte("caddy-mfa signing keys\x00"))
	for _, k := range keys {
		_ = binary.Write(h, binary.BigEndian, uint32(len(k)))
		h.Write(k)
	}
	return hex.EncodeToString(h.Sum(nil))
}
