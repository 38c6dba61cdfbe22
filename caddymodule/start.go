package caddymodule

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// Start makes the config's writes, then polls the store for changes made on other nodes. The
// writes wait until here because Caddy provisions a config for `caddy validate` too, and a
// validated config must change nothing: no key files, no key check, no users' groups.
func (a *App) Start() error {
	if err := a.writeKeyFiles(); err != nil {
		return err
	}
	if err := store.CheckKey(a.ctx, a.store, a.sealer); err != nil {
		return fmt.Errorf("mfa: %w", err)
	}
	for _, u := range a.Users {
		if err := a.svc.Users.Ensure(a.ctx, u.Name, u.PasswordHash, u.Groups); err != nil {
			return fmt.Errorf("mfa: users: %w", err)
		}
	}
	if len(a.Users) > 0 {
		// The index holds each key's groups, as Provision read them.
		if err := a.svc.KeyIndex.Reload(a.ctx); err != nil {
			return fmt.Errorf("mfa: loading access keys: %w", err)
		}
	}
	if n, err := a.svc.Devices.RollBackImports(a.ctx); err != nil {
		return fmt.Errorf("mfa: undoing interrupted imports: %w", err)
	} else if n > 0 {
		a.logger.Warn("removed the tokens of hardware imports a crash interrupted; import those files again", zap.Int("tokens", n))
	}
	a.pollers.start(a.ctx, cmp.Or(a.pollEvery, pollInterval), []poll{
		{a.svc.Revocations.Run, "reloading revocations; the last list stays in force"},
		{a.svc.KeyIndex.Run, "reloading access keys; the last index stays in force"},
		{a.svc.Devices.RunSweeper, "sweeping never-enabled devices; they stay until the next sweep"},
		{a.svc.WebAuthn.RunSweeper, "sweeping unfinished passkey sign-ins; they stay until the next sweep"},
		{a.svc.DeviceGrants.RunSweeper, "sweeping expired command-line sign-ins; they stay until the next sweep"},
	}, a.logger)
	return nil
}

// pollInterval is how often changes made on other nodes (revocations, access keys) are picked
// up: revocations must reach every node within 5 s.
const pollInterval = 2 * time.Second

// Stop ends the polling and waits for it.
func (a *App) Stop() error {
	a.pollers.stop()
	return nil
}

// Cleanup stops the polling if Stop did not (Caddy cleans up a config that failed to start
// without stopping it), closes what Provision opened and releases the long-lived state.
func (a *App) Cleanup() error {
	a.pollers.stop()
	for _, w := range a.keyWrites {
		clear(w.key)
	}
	a.keyWrites = nil
	a.releaseLongLived()
	return nil
}

// poll is one background reload: run loops until its context ends.
type poll struct {
	run     func(ctx context.Context, interval time.Duration, onError func(error))
	warning string
}

// pollers run the background reloads on a context of their own, which stop cancels before it
// waits for every one of them to return: no reload outlives its config.
type pollers struct {
	mu     sync.Mutex
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (p *pollers) start(parent context.Context, interval time.Duration, polls []poll, logger *zap.Logger) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ctx, cancel := context.WithCancel(parent)
	p.cancel = cancel
	for _, pl := range polls {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			pl.run(ctx, interval, func(err error) { logger.Warn(pl.warning, zap.Error(err)) })
		}()
	}
}

// stop is safe to call more than once, before start, and on nil (a Provision that failed).
func (p *pollers) stop() {
	if p == nil {
		return
	}
	p.mu.Lock()
	cancel := p.cancel
	p.cancel = nil
	p.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	p.wg.Wait()
}
