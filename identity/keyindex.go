package identity

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// KeyIndex holds every access key (id, owner, groups, secret hash) in memory, so that checking
// an access key on the request path reads no storage, and a flood of made-up ids costs a map
// lookup each. Changes bump a version record; every node reloads when it sees a new version
// (Run), and the node that made the change at once.
type KeyIndex struct {
	keys  *AccessKeys
	users *Directory

	version atomic.Int64
	entries atomic.Pointer[map[string]IndexedKey]
}

// IndexedKey is what the request path needs to know of an access key.
type IndexedKey struct {
	ID     string
	User   string
	Groups []string
	hash   []byte // SHA-256 of the secret
}

const keyIndexVersion = "accesskeys-version"

// NewKeyIndex makes an empty index; call Reload before use.
func NewKeyIndex(keys *AccessKeys, users *Directory) *KeyIndex {
	x := &KeyIndex{keys: keys, users: users}
	empty := map[string]IndexedKey{}
	x.entries.Store(&empty)
	x.version.Store(-1)
	return x
}

// Lookup checks an access key id and secret against the index. Unknown ids and wrong secrets
// look alike to the caller.
func (x *KeyIndex) Lookup(id, secret string) (IndexedKey, bool) {
	e, ok := (*x.entries.Load())[id]
	if !ok {
		// Compare anyway, so an unknown id costs what a known one does.
		_ = hashEqual(dummyHash[:], secret)
		return IndexedKey{}, false
	}
	return e, hashEqual(e.hash, secret)
}

var dummyHash [32]byte

// changed records that access keys or users changed, for every node's index to reload. It
// comes after the change it announces: a reload that sees the new version sees the change.
func changed(ctx context.Context, st store.Store) error {
	return st.Update(ctx, keyIndexVersion, func(old []byte) ([]byte, error) {
		n, _ := strconv.ParseInt(string(old), 10, 64)
		return []byte(strconv.FormatInt(n+1, 10)), nil
	})
}

// Reload reads every key, when the version changed since the last load.
func (x *KeyIndex) Reload(ctx context.Context) error {
	raw, err := x.keys.store.Get(ctx, keyIndexVersion)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	v, _ := strconv.ParseInt(string(raw), 10, 64)
	if v == x.version.Load() {
		return nil
	}
	ids, err := x.keys.store.List(ctx, "accesskeys/")
	if err != nil {
		return err
	}
	next := make(map[string]IndexedKey, len(ids))
	groups := map[string][]string{}
	for _, k := range ids {
		ak, err := x.keys.Get(ctx, store.LastPart(k))
		if errors.Is(err, ErrNoSuchAccessKey) {
			continue
		}
		if err != nil {
			return err
		}
		g, seen := groups[ak.User]
		if !seen {
			u, err := x.users.Get(ctx, ak.User)
			if errors.Is(err, ErrNoSuchUser) {
				continue // the user is gone: so is the key's use
			}
			if err != nil {
				return err
			}
			g, groups[ak.User] = u.Groups, u.Groups
		}
		hash, err := x.keys.sealer.Open(ak.SealedHash, []byte(accessKeyKey(ak.ID)))
		if err != nil {
			return err
		}
		next[ak.ID] = IndexedKey{ID: ak.ID, User: ak.User, Groups: g, hash: hash}
	}
	x.entries.Store(&next)
	x.version.Store(v)
	return nil
}

// Run reloads every interval until ctx ends (store.Poll), so changes made on other nodes take
// effect here within that interval.
func (x *KeyIndex) Run(ctx context.Context, interval time.Duration, onError func(error)) {
	store.Poll(ctx, interval, x.Reload, onError)
}
