package factors

import (
	"context"
	"time"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// PendingLifetime is how long a device a user made but never enabled is kept. Enabling takes
// a minute (scan the QR code, type two codes); a device left pending longer is abandoned, and
// keeping it would let names an earlier handler passes, or a flood of enrolments, fill the
// store with records nobody uses.
const PendingLifetime = time.Hour

// sweepEvery is how many poll intervals pass between sweeps: a sweep reads every device.
const sweepEvery = 300

// SweepPending removes the virtual and SMS devices that users made and never enabled, once
// older than PendingLifetime, and says how many it removed. Hardware tokens an operator
// imported stay until the operator deletes them; security keys exist only once registered.
func (r *Devices) SweepPending(ctx context.Context) (int, error) {
	all, err := r.All(ctx)
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, d := range all {
		if d.Enabled || d.User == "" || (d.Type != TypeVirtual && d.Type != TypeSMS) || r.now().Sub(d.Created) < PendingLifetime {
			continue
		}
		if err := r.Remove(ctx, d); err != nil {
			return removed, err
		}
		removed++
	}
	return removed, nil
}

// RunSweeper sweeps pending devices every sweepEvery poll intervals until ctx ends; the
// signature is that of the app's other background polls.
func (r *Devices) RunSweeper(ctx context.Context, interval time.Duration, onError func(error)) {
	store.Poll(ctx, interval*sweepEvery, func(ctx context.Context) error {
		_, err := r.SweepPending(ctx)
		return err
	}, onError)
}
