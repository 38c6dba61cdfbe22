package store

import (
	"context"
	"time"
)

// Poll calls reload every interval until ctx ends: how each node picks up what other nodes
// changed in a shared store (revocations, access keys). A failed reload keeps what was loaded
// before and is reported to onError.
func Poll(ctx context.Context, interval time.Duration, reload func(context.Context) error, onError func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := reload(ctx); err != nil && ctx.Err() == nil {
				onError(err)
			}
		}
	}
}

// Sleep waits d, or until ctx ends, whose error it then returns: the wait of a backend's retry.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
