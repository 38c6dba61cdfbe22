package factors

import (
	"context"
	"errors"
	"time"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// LockoutPolicy is how many consecutive failures lock a user's factor checks, and for how long.
type LockoutPolicy struct {
	MaxFailures int
	BaseDelay   time.Duration
	MaxDelay    time.Duration
}

// Lockout counts failed factor attempts per user in the store, so that every node adds to the
// same count (NIST SP 800-63B's rate limiting: at most MaxFailures guesses, then a growing wait).
type Lockout struct {
	store  store.Store
	now    func() time.Time
	policy LockoutPolicy
}

// NewLockout makes a Lockout.
func NewLockout(st store.Store, now func() time.Time, p LockoutPolicy) *Lockout {
	return &Lockout{store: st, now: now, policy: p}
}

type lockoutRecord struct {
	Failures    int       `json:"failures"`
	Locks       int       `json:"locks"` // locks since the last success: each doubles the delay
	LockedUntil time.Time `json:"locked_until"`
}

func lockoutKey(user string) string { return store.Key("lockout", user) }

// LockedFor returns how long the user's factor checks stay locked; zero when they are not.
func (l *Lockout) LockedFor(ctx context.Context, user string) (time.Duration, error) {
	rec, err := store.GetJSON[lockoutRecord](ctx, l.store, lockoutKey(user))
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return max(rec.LockedUntil.Sub(l.now()), 0), nil
}

// Fail counts a failed attempt and returns the lock it caused, zero when it caused none.
func (l *Lockout) Fail(ctx context.Context, user string) (locked time.Duration, err error) {
	err = store.UpdateJSON(ctx, l.store, lockoutKey(user), func(rec *lockoutRecord) (*lockoutRecord, error) {
		if rec == nil {
			rec = &lockoutRecord{}
		}
		locked = 0
		rec.Failures++
		if rec.Failures >= l.policy.MaxFailures {
			locked = l.delay(rec.Locks)
			rec.Failures, rec.Locks, rec.LockedUntil = 0, rec.Locks+1, l.now().Add(locked)
		}
		return rec, nil
	})
	return locked, err
}

func (l *Lockout) delay(previousLocks int) time.Duration {
	d := l.policy.BaseDelay
	for range previousLocks {
		if d >= l.policy.MaxDelay {
			break
		}
		d *= 2
	}
	return min(d, l.policy.MaxDelay)
}

// Succeed clears the user's failures and locks.
func (l *Lockout) Succeed(ctx context.Context, user string) error {
	return l.store.Delete(ctx, lockoutKey(user))
}
