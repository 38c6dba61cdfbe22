package auth

import (
	"context"
	"slices"

	"go.uber.org/zap"

	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/identity"
	"github.com/caddy-mfa/caddy-mfa/store"
)

// Reseal seals every secret at rest under the first encryption key (store.Reseal), so that the
// keys after it can be removed from the config once it reports the key check moved. It is safe
// beside nodes that serve and write, and finishes a run that stopped half-way.
func (s *Service) Reseal(ctx context.Context) (store.ResealReport, error) {
	families := slices.Concat(factors.SealedRecords, identity.SealedRecords)
	r, err := store.Reseal(ctx, s.store, s.sealer, families)
	s.Log.Info("resealed secrets under the first encryption key",
		zap.Int("resealed", r.Resealed), zap.Int("current", r.Current), zap.Int("unopened", len(r.Unopened)),
		zap.Int("unreadable", r.Unreadable), zap.Bool("key_check_moved", r.KeyCheck), zap.Error(err))
	return r, err
}
