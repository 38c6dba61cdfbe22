// Package lockout caps guessing of second factors: a user's failed attempts, on every node and
// every factor, lock further checks for a doubling delay. An attempt is reserved before any code
// is checked, so attempts sent at once cannot outrun the count.
package lockout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// Policy is how many consecutive failures lock a user's factor checks, and for how long.
type Policy struct {
	MaxFailures int
	BaseDelay   time.Duration
	MaxDelay    time.Duration
}

// ErrLocked means the user's factor checks are locked: no code is checked, right or wrong.
var ErrLocked = errors.New("too many failed factor attempts; the user is locked out for now")

// LockedError is ErrLocked with how long the lock still lasts.
type LockedError struct{ RetryAfter time.Duration }

func (e *LockedError) Error() string {
	return fmt.Sprintf("%v (for %s)", ErrLocked, e.RetryAfter.Round(time.Second))
}

// Is makes errors.Is(err, ErrLocked) hold.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// Lockout counts factor attempts per user in the store, so that every node adds to the same
// count (NIST SP 800-63B's rate limiting: at most MaxFailures guesses, then a growing wait). An
// attempt is counted before its code is checked and forgiven when it passes: attempts sent at
// once cannot outrun the count.
type Lockout struct {
	store  store.Store
	now    func() time.Time
	policy Policy
}

// New makes a Lockout.
func New(st store.Store, now func() time.Time, p Policy) *Lockout {
	return &Lockout{store: st, now: now, policy: p}
}

func lockoutKey(user string) string { return store.Key("lockout", user) }

// Attempt is one factor attempt, counted as failed until Forgive says it passed.
type Attempt struct {
	l    *Lockout
	user string
	res  store.Reservation
}

// Reserve counts an attempt for user before anything is checked. While the user is locked it
// refuses with a *LockedError, even if the code would have been right.
func (l *Lockout) Reserve(ctx context.Context, user string) (*Attempt, error) {
	res, err := store.ReserveAttempt(ctx, l.store, lockoutKey(user), l.now(), store.AttemptPolicy{
		MaxFailures: l.policy.MaxFailures, BaseDelay: l.policy.BaseDelay, MaxDelay: l.policy.MaxDelay,
	})
	if err != nil {
		return nil, err
	}
	if !res.Granted {
		return nil, &LockedError{RetryAfter: res.Wait}
	}
	return &Attempt{l: l, user: user, res: res}, nil
}

// Locked is the lock this attempt started by being the last one allowed; zero when none. It
// holds unless the attempt is forgiven.
func (a *Attempt) Locked() time.Duration { return a.res.Locked }

// Forgive clears the user's count and locks: the attempt passed.
func (a *Attempt) Forgive(ctx context.Context) error { return a.l.Clear(ctx, a.user) }

// Release gives back an attempt whose code was never checked (no such device, no ceremony
// waiting). An attempt that started a lock keeps it.
func (a *Attempt) Release(ctx context.Context) error {
	return store.ReleaseAttempt(ctx, a.l.store, lockoutKey(a.user), a.res)
}

// LockedFor returns how long the user's factor checks stay locked; zero when they are not.
func (l *Lockout) LockedFor(ctx context.Context, user string) (time.Duration, error) {
	return store.LockedFor(ctx, l.store, lockoutKey(user), l.now())
}

// Clear forgets the user's failures and locks (a success, or an operator's reset).
func (l *Lockout) Clear(ctx context.Context, user string) error {
	return l.store.Delete(ctx, lockoutKey(user))
}
