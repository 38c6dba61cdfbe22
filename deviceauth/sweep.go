package deviceauth

import (
	"context"
	"errors"
	"time"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// Sweep removes the grants past their expiry (anyone may start one), and says how many. A
// redeemed grant stays until then, so its device code is refused as used, not unknown.
func (g *Grants) Sweep(ctx context.Context) (int, error) {
	keys, err := g.store.List(ctx, store.Key("deviceauth")+"/")
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, k := range keys {
		rec, err := store.GetJSON[Grant](ctx, g.store, k)
		if errors.Is(err, store.ErrNotFound) || (err == nil && g.now().Before(rec.Expires)) {
			continue
		}
		if err := g.store.Delete(ctx, k); err != nil {
			return removed, err
		}
		removed++
	}
	return removed, nil
}

// sweepEvery is how many poll intervals pass between sweeps: a sweep reads every grant.
const sweepEvery = 30

// RunSweeper sweeps every sweepEvery poll intervals until ctx ends; the signature is that of
// the app's other background polls.
func (g *Grants) RunSweeper(ctx context.Context, interval time.Duration, onError func(error)) {
	store.Poll(ctx, interval*sweepEvery, func(ctx context.Context) error {
		_, err := g.Sweep(ctx)
		return err
	}, onError)
}
