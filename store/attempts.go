package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"
)

// Attempt counting for lockouts. An attempt is counted BEFORE the code it carries is checked
// (and forgiven after a success), in one atomic step of the backend, so however many attempts
// arrive at once on however many nodes, at most MaxFailures of them are ever checked before
// the lock. Counting after the check let every attempt that was in flight through.

// AttemptPolicy says when counted attempts lock a key, and for how long.
type AttemptPolicy struct {
	MaxFailures int           // attempts counted since the last lock or success that lock the key
	BaseDelay   time.Duration // the first lock; each further lock doubles it
	MaxDelay    time.Duration // the longest lock
}

// Attempts is the record kept at an attempt key. Times are Unix milliseconds, so that a Redis
// script reads and writes the very record that Go does.
type Attempts struct {
	Failures    int    `json:"failures"`        // attempts counted since the last lock or success
	Locks       int    `json:"locks"`           // locks since the last success: each doubles the delay
	LockedUntil int64  `json:"locked_until_ms"` // Unix ms; attempts wait until then
	Epoch       string `json:"epoch"`           // new at every lock: a release never gives back another period's attempt
}

// Reservation is the answer to a reserved attempt.
type Reservation struct {
	Granted bool          // the attempt may be checked
	Wait    time.Duration // refused: how long the lock still lasts
	Locked  time.Duration // granted as the last allowed attempt: the lock it started (0: none)
	Epoch   string        // the counting period the attempt belongs to, for Release
}

// AttemptReserver is a Store that reserves an attempt in one atomic step of its own (Redis: a
// script). Others reserve through Update, which their locks make atomic.
type AttemptReserver interface {
	ReserveAttempt(ctx context.Context, key string, now time.Time, p AttemptPolicy, epoch string) (Reservation, error)
}

// ReserveAttempt counts one attempt at key, or refuses it while the key is locked. The attempt
// that reaches MaxFailures is granted and starts the lock at once, so no attempt after it is
// checked; a success clears the record (Delete), a check that never happened gives the attempt
// back (ReleaseAttempt).
func ReserveAttempt(ctx context.Context, st Store, key string, now time.Time, p AttemptPolicy) (Reservation, error) {
	epoch := newEpoch()
	if r, ok := st.(AttemptReserver); ok {
		return r.ReserveAttempt(ctx, key, now, p, epoch)
	}
	return ReserveThrough(ctx, st.Update, key, now, p, epoch)
}

// ReserveThrough is ReserveAttempt's rule run through update, an Update of st's kind: for a
// backend whose reservation differs only in how it writes.
func ReserveThrough(ctx context.Context, update func(ctx context.Context, key string, fn func([]byte) ([]byte, error)) error,
	key string, now time.Time, p AttemptPolicy, epoch string) (Reservation, error) {
	var res Reservation
	err := update(ctx, key, attemptsUpdate(key, func(a *Attempts) (*Attempts, error) {
		next := Attempts{Epoch: epoch}
		if a != nil {
			next = *a
		}
		res = next.Reserve(now, p, epoch)
		if !res.Granted {
			return nil, errRefused // nothing to write
		}
		return &next, nil
	}))
	if errors.Is(err, errRefused) {
		err = nil
	}
	return res, err
}

var errRefused = errors.New("attempt refused")

// Reserve is the rule itself, on a record in memory; backends with a script of their own
// implement exactly this (the conformance suite holds them to it).
func (a *Attempts) Reserve(now time.Time, p AttemptPolicy, epoch string) Reservation {
	nowMs := now.UnixMilli()
	if a.Epoch == "" {
		a.Epoch = epoch
	}
	if nowMs < a.LockedUntil {
		return Reservation{Wait: time.Duration(a.LockedUntil-nowMs) * time.Millisecond, Epoch: a.Epoch}
	}
	a.Failures++
	res := Reservation{Granted: true}
	if a.Failures >= p.MaxFailures {
		lockMs := p.delayMs(a.Locks)
		a.Failures, a.Locks, a.LockedUntil, a.Epoch = 0, a.Locks+1, nowMs+lockMs, epoch
		res.Locked = time.Duration(lockMs) * time.Millisecond
	}
	res.Epoch = a.Epoch
	return res
}

// attemptsUpdate is jsonUpdate for attempt records, where one that does not decode counts as
// none: Caddy's file storage writes them without a sync (decisions.md, 121), and after a power
// cut a file system may leave one empty or cut short. Its counts are lost, as that decision
// accepts; the user is not locked out of signing in for good.
func attemptsUpdate(key string, fn func(old *Attempts) (*Attempts, error)) func([]byte) ([]byte, error) {
	return func(raw []byte) ([]byte, error) {
		old, err := decodeOld[Attempts](key, raw)
		if err != nil {
			old = nil
		}
		return encodeNext(fn(old))
	}
}

// delayMs is the lock after previousLocks locks: BaseDelay doubled each time, up to MaxDelay.
func (p AttemptPolicy) delayMs(previousLocks int) int64 {
	d, most := p.BaseDelay.Milliseconds(), p.MaxDelay.Milliseconds()
	for range previousLocks {
		if d >= most {
			break
		}
		d *= 2
	}
	return min(d, most)
}

// ReleaseAttempt gives back an attempt that was reserved but never checked (the device did not
// exist, no ceremony was waiting). It changes nothing once the key was locked or cleared since.
func ReleaseAttempt(ctx context.Context, st Store, key string, r Reservation) error {
	err := st.Update(ctx, key, attemptsUpdate(key, func(a *Attempts) (*Attempts, error) {
		if a == nil || a.Epoch != r.Epoch || a.Failures == 0 {
			return nil, errRefused
		}
		next := *a
		next.Failures--
		return &next, nil
	}))
	if errors.Is(err, errRefused) {
		return nil
	}
	return err
}

// LockedFor reads how long the key stays locked at now; zero when it is not.
func LockedFor(ctx context.Context, st Store, key string, now time.Time) (time.Duration, error) {
	a, err := GetJSON[Attempts](ctx, st, key)
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnreadable) {
		return 0, nil // an unreadable record counts as none (attemptsUpdate)
	}
	if err != nil {
		return 0, err
	}
	return max(time.Duration(a.LockedUntil-now.UnixMilli())*time.Millisecond, 0), nil
}

func newEpoch() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand does not fail on supported platforms
	return hex.EncodeToString(b)
}
