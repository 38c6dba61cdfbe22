package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// RememberedBrowsers are browsers a user asked, after passing a factor, not to be asked a code
// on again for a while. The browser holds a random credential (an id and a 256-bit secret);
// the store holds a hash of the secret under the user, so a credential signs in nobody without
// the user's password, is void on every node as soon as its record goes, and says nothing
// about who it belongs to.
type RememberedBrowsers struct {
	store store.Store
	now   func() time.Time
}

// RememberedBrowser is one record, as the user's list shows it (never the hash).
type RememberedBrowser struct {
	ID        string    `json:"id"`
	User      string    `json:"user"`
	Hash      []byte    `json:"hash"`
	Created   time.Time `json:"created"`   // first use: when the user ticked "remember"
	LastUsed  time.Time `json:"last_used"` // the last sign-in it passed (Created until then)
	Expires   time.Time `json:"expires"`
	SourceIP  string    `json:"source_ip"`  // at the last use
	UserAgent string    `json:"user_agent"` // at the last use
}

// ErrNotRemembered is a credential that names no live record of the user: made for another
// user, forgotten, expired, or not a credential at all. Sign-in goes on without it.
var ErrNotRemembered = errors.New("this browser is not remembered")

// ErrRememberedMismatch is a credential whose id is one of the user's records but whose secret
// is not: a made-up or altered cookie.
var ErrRememberedMismatch = errors.New("the remembered-browser credential does not match")

// MaxRememberedBrowsers bounds one user's list: each needs a passed factor, but a script could
// still pass factors in a loop. Past it the least recently used are forgotten.
const MaxRememberedBrowsers = 50

const (
	rememberedIDSize     = 16
	rememberedSecretSize = 32
)

// NewRememberedBrowsers keeps remembered browsers in st.
func NewRememberedBrowsers(st store.Store, now func() time.Time) *RememberedBrowsers {
	return &RememberedBrowsers{store: st, now: now}
}

func rememberedKey(user, id string) string { return store.Key("remembered", user, id) }

// rememberedHash binds the secret to its user and id: a record copied under another user or id
// matches no credential.
func rememberedHash(user, id string, secret []byte) []byte {
	h := sha256.New()
	h.Write([]byte("caddy-mfa remembered browser\x00" + user + "\x00" + id + "\x00"))
	h.Write(secret)
	return h.Sum(nil)
}

// Remember makes a record for user that lasts for d, and returns the credential for the
// browser's cookie: "<id>.<secret>", shown this once.
func (rb *RememberedBrowsers) Remember(ctx context.Context, user string, d time.Duration, sourceIP, userAgent string) (string, *RememberedBrowser, error) {
	idRaw, secret := make([]byte, rememberedIDSize), make([]byte, rememberedSecretSize)
	if _, err := rand.Read(idRaw); err != nil {
		return "", nil, err
	}
	if _, err := rand.Read(secret); err != nil {
		return "", nil, err
	}
	id, now := hex.EncodeToString(idRaw), rb.now().UTC()
	rec := &RememberedBrowser{ID: id, User: user, Hash: rememberedHash(user, id, secret), Created: now, LastUsed: now,
		Expires: now.Add(d), SourceIP: sourceIP, UserAgent: clipAgent(userAgent)}
	if err := store.PutJSON(ctx, rb.store, rememberedKey(user, id), rec); err != nil {
		return "", nil, err
	}
	if err := rb.keepAtMost(ctx, user, MaxRememberedBrowsers); err != nil {
		return "", nil, err
	}
	return id + "." + base64.RawURLEncoding.EncodeToString(secret), rec, nil
}

// parseCredential splits a cookie's credential; ok is false for anything not of its form.
func parseCredential(cred string) (id string, secret []byte, ok bool) {
	id, enc, found := strings.Cut(cred, ".")
	if !found || len(id) != 2*rememberedIDSize || strings.ToLower(id) != id {
		return "", nil, false
	}
	if _, err := hex.DecodeString(id); err != nil {
		return "", nil, false
	}
	secret, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || len(secret) != rememberedSecretSize {
		return "", nil, false
	}
	return id, secret, true
}

// Use checks cred for user: it must name a record of this user that has not expired and was
// made less than maxAge ago (the site's own remember_device, which may be shorter than the one
// that made it). A match notes the use (time, address, user agent) and returns the record.
func (rb *RememberedBrowsers) Use(ctx context.Context, user, cred string, maxAge time.Duration, sourceIP, userAgent string) (*RememberedBrowser, error) {
	id, secret, ok := parseCredential(cred)
	if !ok || user == "" {
		return nil, ErrNotRemembered
	}
	now := rb.now().UTC()
	var used *RememberedBrowser
	err := store.UpdateJSON(ctx, rb.store, rememberedKey(user, id), func(old *RememberedBrowser) (*RememberedBrowser, error) {
		switch {
		case old == nil || old.User != user || old.ID != id:
			return old, ErrNotRemembered
		case !now.Before(old.Expires):
			return nil, nil // gone: the record dies with its credential
		case !now.Before(old.Created.Add(maxAge)):
			return old, ErrNotRemembered
		case subtle.ConstantTimeCompare(old.Hash, rememberedHash(user, id, secret)) != 1:
			return old, ErrRememberedMismatch
		}
		next := *old
		next.LastUsed, next.SourceIP, next.UserAgent = now, sourceIP, clipAgent(userAgent)
		used = &next
		return &next, nil
	})
	if err == nil && used == nil {
		err = ErrNotRemembered // expired, and now removed
	}
	if err != nil {
		return nil, err
	}
	return used, nil
}

// List is user's remembered browsers that have not expired, most recently used first; expired
// records are removed.
func (rb *RememberedBrowsers) List(ctx context.Context, user string) ([]*RememberedBrowser, error) {
	keys, err := rb.store.List(ctx, store.Key("remembered", user)+"/")
	if err != nil {
		return nil, err
	}
	now := rb.now()
	out := make([]*RememberedBrowser, 0, len(keys))
	for _, k := range keys {
		rec, err := store.GetJSON[RememberedBrowser](ctx, rb.store, k)
		switch {
		case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrUnreadable):
			continue
		case err != nil:
			return nil, err
		case rec.User != user || store.LastPart(k) != rec.ID:
			continue // not this user's record: skipped, never shown
		case !now.Before(rec.Expires):
			_ = rb.store.Delete(ctx, k)
			continue
		}
		out = append(out, rec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LastUsed.After(out[j].LastUsed) })
	return out, nil
}

// Forget removes one of user's remembered browsers: ErrNotRemembered when there is none of id.
func (rb *RememberedBrowsers) Forget(ctx context.Context, user, id string) error {
	if len(id) != 2*rememberedIDSize {
		return ErrNotRemembered
	}
	if _, err := rb.store.Get(ctx, rememberedKey(user, id)); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotRemembered
		}
		return err
	}
	return rb.store.Delete(ctx, rememberedKey(user, id))
}

// ForgetAll removes every remembered browser of user, expired or not; it says how many went.
func (rb *RememberedBrowsers) ForgetAll(ctx context.Context, user string) (int, error) {
	keys, err := rb.store.List(ctx, store.Key("remembered", user)+"/")
	if err != nil {
		return 0, err
	}
	for _, k := range keys {
		if err := rb.store.Delete(ctx, k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}

// keepAtMost forgets the least recently used of user's records past max.
func (rb *RememberedBrowsers) keepAtMost(ctx context.Context, user string, max int) error {
	recs, err := rb.List(ctx, user)
	if err != nil || len(recs) <= max {
		return err
	}
	for _, rec := range recs[max:] {
		if err := rb.store.Delete(ctx, rememberedKey(user, rec.ID)); err != nil {
			return err
		}
	}
	return nil
}
