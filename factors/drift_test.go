package factors

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// driftRegistry is a registry with the given skew and resync window, and alice's device enabled
// at offset 0 (its clock agrees with ours).
func driftRegistry(t *testing.T, skew, window int) (*Devices, *clock, *NewVirtual) {
	t.Helper()
	sealer, _ := store.NewSealer(bytes.Repeat([]byte{9}, store.KeySize))
	c := &clock{t: time.Date(2026, 11, 29, 12, 0, 7, 0, time.UTC)}
	r := NewDevices(newTestStore(t), sealer, c.now, Settings{Issuer: "test", MaxDevices: 3, Skew: skew, ResyncWindow: window})
	return r, c, enrol(t, r, c, "alice", "phone")
}

// The creep: a few codes each a step ahead of the last, all in one step of ours, moved
// the drift to +2 and beyond, and the device's own current code was refused until a resync.
func TestDriftDoesNotCreep(t *testing.T) {
	ctx := context.Background()
	r, c, nv := driftRegistry(t, 1, 10)
	c.advance(30 * time.Second)
	accepted := 0
	for _, ahead := range []int64{1, 2, 3} {
		if _, err := r.Verify(ctx, "alice", "", codeAt(t, nv.Seed, c.t, ahead)); err == nil {
			accepted++
		}
	}
	if accepted > 2 {
		t.Errorf("codes 1, 2 and 3 steps ahead within one step were all accepted")
	}
	c.advance(3 * 30 * time.Second) // past the steps those codes spent
	for range 3 {
		c.advance(30 * time.Second)
		d, err := r.Verify(ctx, "alice", "", codeAt(t, nv.Seed, c.t, 0))
		if err != nil {
			t.Fatalf("after codes ahead, the device's own current code is refused: %v", err)
		}
		if d.Drift != 0 {
			t.Fatalf("drift %d after the device's own codes", d.Drift)
		}
	}
}

// Codes one step ahead, step after step, are a clock that runs ahead: the drift follows it, one
// step at a time, and the device's current code always passes on the way.
func TestDriftMovesOneStepPerCode(t *testing.T) {
	ctx := context.Background()
	r, c, nv := driftRegistry(t, 2, 10)
	c.advance(30 * time.Second)
	d, err := r.Verify(ctx, "alice", "", codeAt(t, nv.Seed, c.t, 2)) // at the edge of skew 2
	if err != nil {
		t.Fatal(err)
	}
	if d.Drift != 0 {
		t.Fatalf("one code two steps ahead moved the drift to %d at once", d.Drift)
	}
	c.advance(30 * time.Second)
	if _, err := r.Verify(ctx, "alice", "", codeAt(t, nv.Seed, c.t, 4)); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("a code 4 steps ahead after one at +2 (skew 2): %v", err)
	}
	d, err = r.Verify(ctx, "alice", "", codeAt(t, nv.Seed, c.t, 2))
	if err != nil || d.Drift != 1 {
		t.Fatalf("a second code ahead at a later step moves the drift one step: %v, drift %d", err, driftOf(d))
	}
}

func driftOf(d *Device) int64 {
	if d == nil {
		return -99
	}
	return d.Drift
}

// However far a device's clock runs, sign-in follows it only within the resync window.
func TestDriftStaysWithinTheResyncWindow(t *testing.T) {
	ctx := context.Background()
	r, c, nv := driftRegistry(t, 1, 2)
	for ahead := int64(1); ahead <= 5; ahead++ {
		for range 3 { // the device sits at each offset for a while
			c.advance(30 * time.Second)
			d, err := r.Verify(ctx, "alice", "", codeAt(t, nv.Seed, c.t, ahead))
			if ahead <= 3 && err != nil {
				t.Fatalf("a device %d steps ahead (resync window 2, skew 1): %v", ahead, err)
			}
			if ahead > 3 && err == nil {
				t.Fatalf("a device %d steps ahead was followed past the resync window (drift %d)", ahead, d.Drift)
			}
			if err == nil && d.Drift > 2 {
				t.Fatalf("drift %d: beyond the resync window 2", d.Drift)
			}
		}
	}
	c.advance(30 * time.Second)
	now := VirtualTOTP.Step(c.t)
	code1, _ := VirtualTOTP.Code(nv.Seed, now+1)
	code2, _ := VirtualTOTP.Code(nv.Seed, now+2)
	if _, err := r.Resync(ctx, "alice", nv.Device.Serial, code1, code2); err != nil {
		t.Fatalf("resync within its window: %v", err)
	}
}

// The device's clock walks ahead five steps, back past ours to four behind, and home again,
// sometimes a step between two sign-ins, sometimes sitting still, at every phase of our steps.
// Every code it shows is accepted once; shown again, or an earlier one, it is refused.
func TestDeviceClockWalksAheadAndBack(t *testing.T) {
	ctx := context.Background()
	r, c, nv := driftRegistry(t, 1, 10)
	var walk []int64 // the device's offset, in seconds, at each sign-in
	for s := int64(0); s <= 150; s += 10 {
		walk = append(walk, s)
	}
	for s := int64(150); s >= -120; s -= 15 {
		walk = append(walk, s, s)
	}
	for s := int64(-120); s <= 0; s += 30 {
		walk = append(walk, s)
	}
	lastShown := VirtualTOTP.Step(c.t) // enable spent the step it was done in
	for i, off := range walk {
		c.advance(time.Duration(37+i%5*11) * time.Second) // 37-81 s: fresh steps, every phase
		deviceTime := c.t.Add(time.Duration(off) * time.Second)
		shown := VirtualTOTP.Step(deviceTime)
		code := codeAt(t, nv.Seed, deviceTime, 0)
		_, err := r.Verify(ctx, "alice", "", code)
		switch {
		case shown <= lastShown && !errors.Is(err, ErrCodeReplayed):
			t.Fatalf("sign-in %d, device %+ds: a spent step was not refused as a replay: %v", i, off, err)
		case shown > lastShown && err != nil:
			t.Fatalf("sign-in %d, device %+ds (offset %d steps): its code was refused: %v", i, off, shown-VirtualTOTP.Step(c.t), err)
		}
		if err == nil {
			lastShown = shown
			if _, err := r.Verify(ctx, "alice", "", code); !errors.Is(err, ErrCodeReplayed) {
				t.Fatalf("sign-in %d: the same code twice: %v", i, err)
			}
		}
	}
}
