package session

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// Revocations is the list of users whose earlier credentials are void (reset, revoke-sessions,
// a deactivated device) and of sign-ins that signed out. Every node keeps the whole list in
// memory, so checking costs a map lookup; the node that revokes updates its copy at once and
// the others reload it from the store every few seconds (Run).
//
// The list only moves forward: entries are added, and an entry's time only moves later, until
// it has expired. A reload merges what the store holds into what this node holds instead of
// replacing it, so a poll that read the store before a revocation, a node whose clock is
// behind, or a store restored from a backup can never bring a revoked credential back.
//
// The list stays small: an entry is dropped once every credential it could void has expired.
type Revocations struct {
	store       store.Store
	now         func() time.Time
	maxLifetime time.Duration // the longest any credential lives
	// current is never changed once stored: a new list is made whole, then swapped in, under
	// installing, so that no two merges race to be the one that stays.
	current    atomic.Pointer[revocationList]
	installing sync.Mutex
	// merged is the stored list a reload last merged in whole: the same bytes again hold
	// nothing to add, so a node skips decoding a list that did not change (most polls).
	merged atomic.Pointer[[]byte]
}

type revocationList struct {
	Users   map[string]int64    `json:"users"`    // user -> Unix ms: credentials issued up to then are void
	SignIns map[SessionID]int64 `json:"sign_ins"` // sign-in -> Unix ms when its last cookie expires anyway
}

func newList() *revocationList {
	return &revocationList{Users: map[string]int64{}, SignIns: map[SessionID]int64{}}
}

const revocationsKey = "revocations"

// NewRevocations makes an empty list; call Reload before use.
func NewRevocations(st store.Store, now func() time.Time, maxLifetime time.Duration) *Revocations {
	r := &Revocations{store: st, now: now, maxLifetime: maxLifetime}
	r.current.Store(newList())
	return r
}

// Revoked reports whether the claims' credential has been revoked.
func (r *Revocations) Revoked(c *Claims) bool {
	l := r.current.Load()
	if at, ok := l.Users[c.User]; ok && c.Issued.UnixMilli() <= at {
		return true
	}
	_, ok := l.SignIns[c.SignInID]
	return ok
}

// RevokeUser voids every credential of user issued until now.
func (r *Revocations) RevokeUser(ctx context.Context, user string) error {
	now := r.now().UnixMilli()
	return r.update(ctx, func(l *revocationList) { l.Users[user] = max(l.Users[user], now) })
}

// RevokeSignIn voids every credential of one sign-in (sign-out); until is when the last of
// them expires anyway (Cookies.SignInEnds).
func (r *Revocations) RevokeSignIn(ctx context.Context, id SessionID, until time.Time) error {
	if id.IsZero() {
		// Credentials made without a sign-in id all share the zero one.
		return errors.New("revoking a sign-in: the sign-in id is not set")
	}
	end := until.UnixMilli()
	return r.update(ctx, func(l *revocationList) { l.SignIns[id] = max(l.SignIns[id], end) })
}

func (r *Revocations) update(ctx context.Context, change func(*revocationList)) error {
	var next *revocationList
	var written []byte
	err := r.store.Update(ctx, revocationsKey, func(raw []byte) ([]byte, error) {
		l := newList()
		if raw != nil && !r.mergedAlready(raw) {
			stored, err := decodeList(raw)
			if err != nil {
				return nil, err
			}
			r.absorb(l, stored) // its entries that can still void something
		}
		// What this node holds and the store lost (wiped, restored) goes back for every node.
		r.absorb(l, r.current.Load())
		change(l)
		next = l
		var err error
		written, err = json.Marshal(l)
		return written, err
	})
	if err != nil {
		return fmt.Errorf("revocations: %w", err)
	}
	r.install(next)
	r.merged.Store(&written)
	return nil
}

// mergedAlready reports whether raw is the stored list a reload or an update of this node last
// merged in whole: every entry of it is in the list in force, or expired.
func (r *Revocations) mergedAlready(raw []byte) bool {
	last := r.merged.Load()
	return last != nil && bytes.Equal(*last, raw)
}

// install makes l, a list nobody else holds yet, the list in force, with every entry of the
// list it replaces: a reload that raced a revocation (here or in another goroutine) adds to
// the list, never takes the revocation out.
func (r *Revocations) install(l *revocationList) {
	r.installing.Lock()
	defer r.installing.Unlock()
	r.prune(l)
	r.absorb(l, r.current.Load())
	r.current.Store(l)
}

// absorb adds to dst every entry of src that can still void something, keeping the later time
// where both have one.
func (r *Revocations) absorb(dst, src *revocationList) {
	if src == nil {
		return
	}
	now := r.now().UnixMilli()
	oldest := now - r.maxLifetime.Milliseconds()
	for user, at := range src.Users {
		if at >= oldest && at > dst.Users[user] {
			dst.Users[user] = at
		}
	}
	for id, end := range src.SignIns {
		if end >= now && end > dst.SignIns[id] {
			dst.SignIns[id] = end
		}
	}
}

// prune drops from l, which nobody else holds yet, the entries that can no longer void anything.
func (r *Revocations) prune(l *revocationList) {
	now := r.now().UnixMilli()
	oldest := now - r.maxLifetime.Milliseconds()
	maps.DeleteFunc(l.Users, func(_ string, at int64) bool { return at < oldest })
	maps.DeleteFunc(l.SignIns, func(_ SessionID, end int64) bool { return end < now })
}

// Reload merges the list in the store into this node's.
func (r *Revocations) Reload(ctx context.Context) error {
	l := newList()
	raw, err := r.store.Get(ctx, revocationsKey)
	switch {
	case errors.Is(err, store.ErrNotFound): // nothing stored yet (or any more): nothing to add
	case err != nil:
		return err
	case r.mergedAlready(raw):
		return nil
	default:
		if l, err = decodeList(raw); err != nil {
			return fmt.Errorf("revocations: %w", err)
		}
	}
	r.install(l)
	r.merged.Store(&raw)
	return nil
}

// decodeList decodes a stored list, with maps to add to even where it holds null.
func decodeList(raw []byte) (*revocationList, error) {
	l := newList()
	if err := json.Unmarshal(raw, l); err != nil {
		return nil, fmt.Errorf("record %s is unreadable: %w", revocationsKey, err)
	}
	l.Users, l.SignIns = orEmpty(l.Users), orEmpty(l.SignIns)
	return l, nil
}

func orEmpty[K comparable](m map[K]int64) map[K]int64 {
	if m == nil {
		return map[K]int64{}
	}
	return m
}

// Run reloads every interval until ctx ends (store.Poll), so changes made on other nodes take
// effect here within that interval.
func (r *Revocations) Run(ctx context.Context, interval time.Duration, onError func(error)) {
	store.Poll(ctx, interval, r.Reload, onError)
}
