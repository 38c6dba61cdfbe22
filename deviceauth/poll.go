package deviceauth

import (
	"context"
	"errors"
	"time"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// Poll is a client's poll with its device code (RFC 8628 section 3.4): an Error while the grant
// waits, was denied or expired, or when the client polls faster than its interval (which then
// grows by SlowDownStep); the approved grant exactly once, marked Redeemed in the same atomic
// step, so of many polls at once on any nodes only one gets it.
func (g *Grants) Poll(ctx context.Context, deviceCode string) (*Grant, error) {
	if deviceCode == "" {
		return nil, ErrMalformed
	}
	code, secret, ok := parseDeviceCode(deviceCode)
	if !ok {
		return nil, ErrUnknown
	}
	now := g.now().UTC()
	var out Grant
	var answer error
	err := store.UpdateJSON(ctx, g.store, grantKey(code), func(rec *Grant) (*Grant, error) {
		if rec == nil || !secretMatches(secret, rec.SecretHash) {
			return nil, ErrUnknown
		}
		next := *rec
		answer = next.poll(now)
		out = next
		return &next, nil
	})
	if errors.Is(err, ErrUnknown) {
		return nil, ErrUnknown
	}
	if err != nil {
		return nil, err
	}
	if answer != nil {
		return nil, answer
	}
	out.UserCode = code
	return &out, nil
}

// poll is the rule itself, on the record in memory: what the poll at now answers, and the
// record after it. Only a pending grant counts the pace of polls; once answered, the answer
// comes at once.
func (rec *Grant) poll(now time.Time) error {
	switch {
	case rec.State == Redeemed:
		return ErrUsed
	case !now.Before(rec.Expires):
		return ErrExpired
	case rec.State == Denied:
		return ErrDenied
	case rec.State == Approved:
		rec.State, rec.LastPoll = Redeemed, now
		return nil
	}
	early := !rec.LastPoll.IsZero() && now.Sub(rec.LastPoll) < rec.Interval-pollGrace
	rec.LastPoll = now
	if early {
		rec.Interval += SlowDownStep
		return ErrSlowDown
	}
	return ErrPending
}
