package session

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"sync/atomic"
	"time"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// Revocations is the list of users whose earlier credentials are void (reset, revoke-sessions,
// a deactivated device) and of single sessions that signed out. Every node keeps the whole list
// in memory, so checking costs a map lookup; the node that revokes updates its copy at once and
// the others reload it from the store every few seconds (Run).
//
// The list stays small: an entry is dropped once every credential it could void has expired.
type Revocations struct {
	store       store.Store
	now         func() time.Time
	maxLifetime time.Duration // the longest any credential lives
	current     atomic.Pointer[revocationList]
}

type revocationList struct {
	Users    map[string]int64    `json:"users"`    // user -> Unix ms: credentials issued up to then are void
	Sessions map[SessionID]int64 `json:"sessions"` // session -> Unix ms when it would expire anyway
}

const revocationsKey = "revocations"

// NewRevocations makes an empty list; call Reload before use.
func NewRevocations(st store.Store, now func() time.Time, maxLifetime time.Duration) *Revocations {
	r := &Revocations{store: st, now: now, maxLifetime: maxLifetime}
	r.current.Store(&revocationList{})
	return r
}

// Revoked reports whether the claims' credential has been revoked.
func (r *Revocations) Revoked(c *Claims) bool {
	l := r.current.Load()
	if at, ok := l.Users[c.User]; ok && c.Issued.UnixMilli() <= at {
		return true
	}
	_, ok := l.Sessions[c.SessionID]
	return ok
}

// RevokeUser voids every credential of user issued until now.
func (r *Revocations) RevokeUser(ctx context.Context, user string) error {
	now := r.now().UnixMilli()
	return r.update(ctx, func(l *revocationList) { l.Users[user] = now })
}

// RevokeSession voids one session (sign-out); expires is when it would have expired anyway.
func (r *Revocations) RevokeSession(ctx context.Context, id SessionID, expires time.Time) error {
	return r.update(ctx, func(l *revocationList) { l.Sessions[id] = expires.UnixMilli() })
}

func (r *Revocations) update(ctx context.Context, change func(*revocationList)) error {
	var next *revocationList
	err := store.UpdateJSON(ctx, r.store, revocationsKey, func(old *revocationList) (*revocationList, error) {
		l := r.pruned(old)
		change(l)
		next = l
		return l, nil
	})
	if err == nil {
		r.current.Store(next)
	}
	return err
}

// pruned copies old without the entries that can no longer void anything.
func (r *Revocations) pruned(old *revocationList) *revocationList {
	l := &revocationList{Users: map[string]int64{}, Sessions: map[SessionID]int64{}}
	if old == nil {
		return l
	}
	now := r.now().UnixMilli()
	oldest := now - r.maxLifetime.Milliseconds()
	maps.Copy(l.Users, old.Users)
	maps.Copy(l.Sessions, old.Sessions)
	maps.DeleteFunc(l.Users, func(_ string, at int64) bool { return at < oldest })
	maps.DeleteFunc(l.Sessions, func(_ SessionID, exp int64) bool { return exp < now })
	return l
}

// Reload reads the list from the store.
func (r *Revocations) Reload(ctx context.Context) error {
	raw, err := r.store.Get(ctx, revocationsKey)
	if errors.Is(err, store.ErrNotFound) {
		r.current.Store(&revocationList{})
		return nil
	}
	if err != nil {
		return err
	}
	var l revocationList
	if err := json.Unmarshal(raw, &l); err != nil {
		return err
	}
	r.current.Store(&l)
	return nil
}

// Run reloads every interval until ctx ends (store.Poll), so changes made on other nodes take
// effect here within that interval.
func (r *Revocations) Run(ctx context.Context, interval time.Duration, onError func(error)) {
	store.Poll(ctx, interval, r.Reload, onError)
}
