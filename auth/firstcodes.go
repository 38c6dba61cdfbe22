package auth

import (
	"context"

	"go.uber.org/zap"
)

// FirstRecoveryCodes gives a user who has just enrolled their first device their recovery codes,
// so that losing it is not the end: ten codes when the user has no unspent one, none (nil) when
// they have some (a later device, the codes page posted twice), so codes are issued once and
// never shown again. Like NewRecoveryCodes it needs a browser session with a fresh factor, which
// the first device has just passed.
func (s *Service) FirstRecoveryCodes(ctx context.Context, c *Caller) ([]string, error) {
	if err := s.freshFactor(c); err != nil {
		return nil, err
	}
	codes, err := s.Recovery.GenerateFirst(ctx, c.User())
	if err == nil && codes != nil {
		s.audit("recovery_codes_issued", zap.String("user", c.User()), zap.Bool("first", true))
	}
	return codes, err
}
