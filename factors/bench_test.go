package factors

import (
	"context"
	"testing"
	"time"
)

// BenchmarkVerifyTOTP is a sign-in code check with its one-time-step bookkeeping: the device
// record updated under the storage lock (Caddy's file storage here).
func BenchmarkVerifyTOTP(b *testing.B) {
	ctx := context.Background()
	r, c, _ := newRegistry(b)
	nv, err := r.CreateVirtual(ctx, "alice", "phone")
	if err != nil {
		b.Fatal(err)
	}
	code := func() string { s, _ := VirtualTOTP.Code(nv.Seed, VirtualTOTP.Step(c.t)); return s }
	prev, _ := VirtualTOTP.Code(nv.Seed, VirtualTOTP.Step(c.t)-1)
	if _, err := r.Enable(ctx, "alice", nv.Device.Serial, prev, code()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		c.advance(30 * time.Second) // a fresh step for every check: replays are refused
		if _, err := r.Verify(ctx, "alice", "", code()); err != nil {
			b.Fatal(err)
		}
	}
}
