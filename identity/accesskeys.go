package identity

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/caddy-mfa/caddy-mfa/store"
)

var (
	// ErrAccessKeyLimit means the user has the most access keys allowed.
	ErrAccessKeyLimit = errors.New("the user has the most access keys allowed")
	// ErrNoSuchAccessKey means no key has the id (for management calls, not sign-in).
	ErrNoSuchAccessKey = errors.New("no such access key")
)

// MaxAccessKeys is IAM's limit of access keys per user: two, so one can be rotated.
const MaxAccessKeys = 2

const (
	accessKeyPrefix = "MKIA"
	accessKeyIDLen  = 20
	secretLen       = 40
)

// IsAccessKeyID reports whether s has the shape of an access key id (MKIA and 16 Base32
// characters), so callers can tell access keys from other Basic credentials without a lookup.
func IsAccessKeyID(s string) bool {
	if len(s) != accessKeyIDLen || !strings.HasPrefix(s, accessKeyPrefix) {
		return false
	}
	for i := len(accessKeyPrefix); i < len(s); i++ {
		if c := s[i]; !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// AccessKey is a long-term credential of an API consumer. Only a hash of the secret is kept,
// and that hash is sealed too.
type AccessKey struct {
	ID         string    `json:"id"`
	User       string    `json:"user"`
	Created    time.Time `json:"created"`
	LastUsed   time.Time `json:"last_used,omitzero"`
	SealedHash []byte    `json:"sealed_hash"`
}

// NewAccessKey is a key just made: the secret is returned this once.
type NewAccessKey struct {
	Key    *AccessKey
	Secret string
}

// AccessKeys is the set of access keys, kept in a store.
type AccessKeys struct {
	store  store.Store
	sealer *store.Sealer
	now    func() time.Time
}

// NewAccessKeys makes the set.
func NewAccessKeys(st store.Store, sealer *store.Sealer, now func() time.Time) *AccessKeys {
	return &AccessKeys{store: st, sealer: sealer, now: now}
}

func accessKeyKey(id string) string         { return store.Key("accesskeys", id) }
func userKeyIndex(user, id string) string   { return store.Key("useraccesskeys", user, id) }
func userKeyIndexPrefix(user string) string { return store.Key("useraccesskeys", user) + "/" }

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Create makes an access key for user, at most MaxAccessKeys each.
func (a *AccessKeys) Create(ctx context.Context, user string) (*NewAccessKey, error) {
	existing, err := a.ForUser(ctx, user)
	if err != nil {
		return nil, err
	}
	if len(existing) >= MaxAccessKeys {
		return nil, fmt.Errorf("%w (%d)", ErrAccessKeyLimit, MaxAccessKeys)
	}
	idBytes := make([]byte, 10) // 16 Base32 characters
	secretBytes := make([]byte, 30)
	if _, err := rand.Read(idBytes); err != nil {
		return nil, err
	}
	if _, err := rand.Read(secretBytes); err != nil {
		return nil, err
	}
	id := accessKeyPrefix + b32.EncodeToString(idBytes)
	secret := base64.RawURLEncoding.EncodeToString(secretBytes) // 40 characters
	sum := sha256.Sum256([]byte(secret))
	k := &AccessKey{ID: id, User: user, Created: a.now().UTC(), SealedHash: a.sealer.Seal(sum[:], []byte(accessKeyKey(id)))}
	// Index first: a crash before the key record leaves only an entry that points nowhere.
	if err := a.store.Put(ctx, userKeyIndex(user, id), []byte{}); err != nil {
		return nil, err
	}
	if err := store.UpdateJSON(ctx, a.store, accessKeyKey(id), func(*AccessKey) (*AccessKey, error) { return k, nil }); err != nil {
		return nil, err
	}
	if err := changed(ctx, a.store); err != nil {
		return nil, err
	}
	return &NewAccessKey{Key: k, Secret: secret}, nil
}

// Get returns a key by id.
func (a *AccessKeys) Get(ctx context.Context, id string) (*AccessKey, error) {
	if !IsAccessKeyID(id) {
		return nil, ErrNoSuchAccessKey
	}
	k, err := store.GetJSON[AccessKey](ctx, a.store, accessKeyKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoSuchAccessKey
	}
	return k, err
}

// hashEqual compares a secret with a stored SHA-256 in constant time. A fast hash suits these
// secrets: 240 random bits cannot be guessed, unlike passwords.
func hashEqual(want []byte, secret string) bool {
	got := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(want, got[:]) == 1
}

// ForUser lists the user's keys, oldest first.
func (a *AccessKeys) ForUser(ctx context.Context, user string) ([]*AccessKey, error) {
	keys, err := a.store.List(ctx, userKeyIndexPrefix(user))
	if err != nil {
		return nil, err
	}
	var out []*AccessKey
	for _, k := range keys {
		ak, err := a.Get(ctx, store.LastPart(k))
		if errors.Is(err, ErrNoSuchAccessKey) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if ak.User == user {
			out = append(out, ak)
		}
	}
	slices.SortFunc(out, func(x, y *AccessKey) int { return cmp.Or(x.Created.Compare(y.Created), cmp.Compare(x.ID, y.ID)) })
	return out, nil
}

// Delete removes a key: the record first, so it stops working before its index entry goes.
func (a *AccessKeys) Delete(ctx context.Context, k *AccessKey) error {
	// Through Update, so that a reseal running on another node cannot bring the key back.
	if err := store.RemoveRecord(ctx, a.store, accessKeyKey(k.ID)); err != nil {
		return err
	}
	if err := changed(ctx, a.store); err != nil {
		return err
	}
	return a.store.Delete(ctx, userKeyIndex(k.User, k.ID))
}

// SealedRecords are the records of this package that hold sealed secrets (the hashes of access
// key secrets), for store.Reseal.
var SealedRecords = []store.SealedField{{Prefix: "accesskeys/", Field: "sealed_hash"}}
