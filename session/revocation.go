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
// a deactivated device) and of sign-ins that signed out. Every node keeps the whole list
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
	Users   map[string]int64    `json:"users"`    // user -> Unix ms: credentials issued up to then are void
	SignIns map[SessionID]int64 `json:"sign_ins"` // sign-in -> Unix ms when its last cookie expires anyway
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
	_, ok := l.SignIns[c.SignInID]
	return ok
}

// RevokeUser voids every credential of user issued until now.
func (r *Revocations) RevokeUser(ctx context.Context, user string) error {
	now := r.now().UnixMilli()
	return r.update(ctx, func(l *revocationList) { l.Users[user] = now })
}

// RevokeSignIn voids every credential of one sign-in (sign-out); until is when the last of
// them expires anyway (Cookies.SignInEnds).
func (r *Revocations) RevokeSignIn(ctx context.Context, id SessionID, until time.Time) error {
	if id.IsZero() {
		// Credentials made without a sign-in id all share the zero one.
		return errors.New("revoking a sign-in: the sign-in id is not set")
	}
	return r.update(ctx, func(l *revocationList) { l.SignIns[id] = until.UnixMilli() })
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
	l := &revocationList{Users: map[string]int64{}, SignIns: map[SessionID]int64{}}
	if old == nil {
		return l
	}
	now := r.now().UnixMilli()
	oldest := now - r.maxLifetime.Milliseconds()
	maps.Copy(l.Users, old.Users)
	maps.Copy(l.SignIns, old.SignIns)
	maps.DeleteFunc(l.Users, func(_ string, at int64) bool { return at < oldest })
	maps.DeleteFunc(l.SignIns, func(_ SessionID, exp int64) bool { return exp < now })
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
