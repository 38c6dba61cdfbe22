package factors

import (
	"context"
	"testing"
	"time"
)

// TestAbandonedDevicesAreSwept: a device a user made and never enabled goes after an hour, so
// names that only ever start enrolling (a flood of them, or an earlier handler's made-up ones)
// leave nothing behind; enabled devices, young pending ones and imported tokens stay.
func TestAbandonedDevicesAreSwept(t *testing.T) {
	ctx := context.Background()
	r, c, _ := newRegistry(t)
	enabled := enrol(t, r, c, "alice", "phone")
	var abandoned []string
	for _, user := range []string{"ghost1", "ghost2", "ghost3"} {
		nv, err := r.CreateVirtual(ctx, user, "phone")
		if err != nil {
			t.Fatal(err)
		}
		abandoned = append(abandoned, nv.Device.Serial)
	}
	if _, err := r.ImportHardware(ctx, []HardwareSeed{{Serial: "GAHT00000009", Name: "t9", Seed: rfcSeed, TOTP: VirtualTOTP}}); err != nil {
		t.Fatal(err)
	}
	c.advance(PendingLifetime - time.Minute)
	young, err := r.CreateVirtual(ctx, "bob", "phone")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := r.SweepPending(ctx); err != nil || n != 0 {
		t.Fatalf("a sweep before the hour: %d removed, %v", n, err)
	}
	c.advance(2 * time.Minute)
	if n, err := r.SweepPending(ctx); err != nil || n != len(abandoned) {
		t.Fatalf("a sweep after the hour: %d removed, want %d (%v)", n, len(abandoned), err)
	}
	for _, serial := range abandoned {
		if _, err := r.Get(ctx, serial); err == nil {
			t.Errorf("%s is still there", serial)
		}
	}
	for _, user := range []string{"ghost1", "ghost2", "ghost3"} {
		if ds, _ := r.ForUser(ctx, user); len(ds) != 0 {
			t.Errorf("%s still lists %d devices", user, len(ds))
		}
	}
	for _, serial := range []string{enabled.Device.Serial, young.Device.Serial, "GAHT00000009"} {
		if _, err := r.Get(ctx, serial); err != nil {
			t.Errorf("%s was swept: %v", serial, err)
		}
	}
}
