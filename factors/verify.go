package factors

import (
	"context"
	"errors"
	"fmt"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// Sign-in with a TOTP code, and how the recorded drift follows a device whose clock wanders.
//
// Enable and resync find the device's clock from two consecutive codes: that is its Drift. A
// single code at sign-in is weaker evidence (a code typed late, or read just as the step turned,
// sits a step off), so it never moves the window far: sign-in accepts Skew steps either side of
// Drift, plus one step on the side the last accepted code leaned to. Drift itself moves one step
// when a second code, at a later step of ours, lands on the same side: a clock that really moved.
// So each accepted code shifts the window by at most one step; a stray code (or several in one
// step) never pushes the device's own offset out of it, since only codes that keep coming from
// one side, step after step, move Drift; and Drift never leaves ±ResyncWindow (beyond that only
// a resync finds the clock again). A code at or before the last accepted step is
// always refused: each step is accepted once.

// Verify checks one code from one of the user's enabled TOTP devices (serial "" tries each) and
// spends its time step on success. The device that accepted it is returned.
func (r *Devices) Verify(ctx context.Context, user, serial, code string) (*Device, error) {
	ds, err := r.ForUser(ctx, user)
	if err != nil {
		return nil, err
	}
	return r.VerifyAmong(ctx, user, ds, serial, code)
}

// VerifyAmong is Verify over the user's devices as the caller has just read them (ForUser),
// which spares a sign-in reading them twice. Spending a step writes only over the record as
// listed, or else runs again on the record as it is: so a device disabled or deleted since the
// listing refuses the code.
func (r *Devices) VerifyAmong(ctx context.Context, user string, ds []*Device, serial, code string) (*Device, error) {
	result := ErrInvalidCode
	for _, d := range ds {
		if !d.Enabled || !d.IsTOTP() || (serial != "" && d.Serial != serial) {
			continue
		}
		dev, err := r.verifyOne(ctx, user, d, code)
		switch {
		case err == nil:
			return dev, nil
		case errors.Is(err, ErrCodeReplayed):
			result = err
		case !errors.Is(err, ErrInvalidCode):
			return nil, err
		}
	}
	return nil, result
}

// verifyOne checks code against listed and spends its step. The record as listed is what the
// update starts from, and the step is written only if the record is still that (or else on
// the record as it is then), so a device changed since refuses as it now is.
func (r *Devices) verifyOne(ctx context.Context, user string, listed *Device, code string) (*Device, error) {
	serial := listed.Serial
	var out *Device
	err := store.UpdateJSONSeen(ctx, r.store, deviceKey(serial), listed.stored, func(d *Device) (*Device, error) {
		if d == nil || d.User != user || !d.Enabled {
			return nil, ErrInvalidCode
		}
		seed, err := r.sealer.Open(d.SealedSeed, sealAAD(serial))
		if err != nil {
			return nil, fmt.Errorf("device %s: %w", serial, err)
		}
		defer clear(seed)
		now := d.TOTP.Step(r.now())
		from, to := d.window(now, int64(r.settings.Skew))
		step, ok := d.TOTP.MatchStep(seed, code, from, to)
		switch {
		case !ok:
			return nil, ErrInvalidCode
		case step <= d.LastStep:
			return nil, ErrCodeReplayed
		}
		d.LastStep, d.LastUsed = step, r.now().UTC()
		d.follow(step-now, now, int64(r.settings.ResyncWindow))
		out = d
		return d, nil
	})
	return out, err
}

// window is the steps sign-in accepts at our step now: skew either side of the drift, and one
// more on the side the last code leaned to.
func (d *Device) window(now, skew int64) (from, to int64) {
	centre := now + d.Drift
	return centre - skew + min(d.Lean, 0), centre + skew + max(d.Lean, 0)
}

// follow records a code accepted at offset (its step minus ours, now): a code on the drift
// clears the lean; a first code off it leans the window that way; a second one on the same
// side, at a later step of ours, moves the drift one step (and leans on if the code lies
// further still). Drift and lean stay within ±limit, the resync window.
func (d *Device) follow(offset, now, limit int64) {
	side := sign(offset - d.Drift)
	switch {
	case side == 0:
		d.Lean = 0
	case d.Lean == side && now > d.LeanStep:
		d.Drift += side
		d.Lean, d.LeanStep = sign(offset-d.Drift), now
	case d.Lean != side:
		d.Lean, d.LeanStep = side, now
	}
	d.Drift = max(-limit, min(limit, d.Drift))
	if d.Drift+d.Lean > limit || d.Drift+d.Lean < -limit {
		d.Lean = 0
	}
	if d.Lean == 0 {
		d.LeanStep = 0
	}
}

func sign(n int64) int64 {
	switch {
	case n > 0:
		return 1
	case n < 0:
		return -1
	}
	return 0
}
