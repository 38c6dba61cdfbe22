package factors

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-mfa/caddy-mfa/store"
	"github.com/caddy-mfa/caddy-mfa/store/caddystore"
	"github.com/caddy-mfa/caddy-mfa/store/storetest"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestStore(t testing.TB) store.Store {
	return caddystore.New(&certmagic.FileStorage{Path: t.TempDir()}, "mfa")
}

func newRegistry(t testing.TB) (*Devices, *clock, store.Store) {
	st := newTestStore(t)
	r, c := newRegistryOn(st)
	return r, c, st
}

func newRegistryOn(st store.Store) (*Devices, *clock) {
	sealer, _ := store.NewSealer(bytes.Repeat([]byte{9}, store.KeySize))
	c := &clock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	return NewDevices(st, sealer, c.now, Settings{Issuer: "test", MaxDevices: 3, Skew: 1, ResyncWindow: 10}), c
}

// codeAt is what the user's app shows at time t (offset steps ahead when its clock drifts).
func codeAt(t *testing.T, seed []byte, at time.Time, offset int64) string {
	t.Helper()
	c, err := VirtualTOTP.Code(seed, VirtualTOTP.Step(at)+offset)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func enrol(t *testing.T, r *Devices, c *clock, user, name string) *NewVirtual {
	t.Helper()
	nv, err := r.CreateVirtual(context.Background(), user, name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Enable(context.Background(), user, nv.Device.Serial, codeAt(t, nv.Seed, c.t, -1), codeAt(t, nv.Seed, c.t, 0)); err != nil {
		t.Fatalf("enable: %v", err)
	}
	return nv
}

func TestVirtualDeviceLifecycle(t *testing.T) {
	ctx := context.Background()
	r, c, st := newRegistry(t)
	nv, err := r.CreateVirtual(ctx, "alice", "phone")
	if err != nil {
		t.Fatal(err)
	}
	if len(nv.Seed) != 20 || nv.Device.Serial != "caddy-mfa:alice:phone" || nv.Device.Enabled {
		t.Fatalf("new device: %+v, seed %d bytes", nv.Device, len(nv.Seed))
	}
	raw, _ := st.Get(ctx, deviceKey(nv.Device.Serial))
	if bytes.Contains(raw, nv.Seed) || bytes.Contains(raw, []byte(b32.EncodeToString(nv.Seed))) {
		t.Fatal("the seed is stored in clear")
	}
	if _, err := r.Verify(ctx, "alice", "", codeAt(t, nv.Seed, c.t, 0)); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("a device that is not enabled must not verify: %v", err)
	}
	same := codeAt(t, nv.Seed, c.t, 0)
	if _, err := r.Enable(ctx, "alice", nv.Device.Serial, same, same); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("the same code twice must be refused: %v", err)
	}
	if _, err := r.Enable(ctx, "bob", nv.Device.Serial, codeAt(t, nv.Seed, c.t, -1), codeAt(t, nv.Seed, c.t, 0)); !errors.Is(err, ErrInUse) {
		t.Fatalf("another user enabled alice's device: %v", err)
	}
	if _, err := r.Enable(ctx, "alice", nv.Device.Serial, codeAt(t, nv.Seed, c.t, -1), codeAt(t, nv.Seed, c.t, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Verify(ctx, "alice", "", codeAt(t, nv.Seed, c.t, 0)); !errors.Is(err, ErrCodeReplayed) {
		t.Fatalf("the code spent by enable verified again: %v", err)
	}
	c.advance(30 * time.Second)
	d, err := r.Verify(ctx, "alice", "", codeAt(t, nv.Seed, c.t, 0))
	if err != nil || d.Serial != nv.Device.Serial {
		t.Fatalf("fresh code: %v", err)
	}
	if _, err := r.Verify(ctx, "alice", "", codeAt(t, nv.Seed, c.t, 0)); !errors.Is(err, ErrCodeReplayed) {
		t.Fatalf("replay: %v", err)
	}
	if _, err := r.Verify(ctx, "alice", "", codeAt(t, nv.Seed, c.t, -1)); !errors.Is(err, ErrCodeReplayed) {
		t.Fatalf("an earlier step than the last accepted one: %v", err)
	}
	if _, err := r.Enable(ctx, "alice", nv.Device.Serial, codeAt(t, nv.Seed, c.t, 1), codeAt(t, nv.Seed, c.t, 2)); !errors.Is(err, ErrAlreadyEnabled) {
		t.Fatalf("enabling twice: %v", err)
	}
}

func TestSkewWindowAndDrift(t *testing.T) {
	ctx := context.Background()
	r, c, _ := newRegistry(t)
	nv, _ := r.CreateVirtual(ctx, "alice", "phone")
	// The app's clock runs 5 steps (2.5 minutes) fast: the pair is found at that offset.
	if _, err := r.Enable(ctx, "alice", nv.Device.Serial, codeAt(t, nv.Seed, c.t, 4), codeAt(t, nv.Seed, c.t, 5)); err != nil {
		t.Fatal(err)
	}
	c.advance(time.Hour)
	// Skew 1 around the drift, one step more on the side the last code leaned to; a second code
	// on that side, steps later, moves the drift there.
	for _, tc := range []struct {
		offset int64
		ok     bool
	}{
		{5 + 2, false}, {5 - 2, false},
		{5 + 1, true},  // leans ahead: the window is [4, 7]
		{5 + 2, true},  // a second code ahead: drift 6, leaning on: [5, 8]
		{6 - 2, false}, // the old drift's edge is gone
		{6 + 2, true},  // drift 7, leaning on: [6, 9]
		{7 - 2, false}, //
		{7, true},      // on the drift: no lean, [6, 8]
		{7 + 2, false}, //
	} {
		c.advance(2 * time.Minute) // a fresh step each time, so replay does not interfere
		_, err := r.Verify(ctx, "alice", "", codeAt(t, nv.Seed, c.t, tc.offset))
		if (err == nil) != tc.ok {
			t.Errorf("code at offset %d (skew 1): err = %v, want ok=%v", tc.offset, err, tc.ok)
		}
	}
}

func TestEnableWindow(t *testing.T) {
	ctx := context.Background()
	r, c, _ := newRegistry(t)
	nv, _ := r.CreateVirtual(ctx, "alice", "phone")
	if _, err := r.Enable(ctx, "alice", nv.Device.Serial, codeAt(t, nv.Seed, c.t, 11), codeAt(t, nv.Seed, c.t, 12)); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("a pair beyond resync_window was accepted: %v", err)
	}
	if _, err := r.Enable(ctx, "alice", nv.Device.Serial, "12345", "123456"); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("a short code was accepted: %v", err)
	}
}

func TestDeviceLimitAndNames(t *testing.T) {
	ctx := context.Background()
	r, c, _ := newRegistry(t)
	for _, name := range []string{"a", "b", "c"} {
		enrol(t, r, c, "alice", name)
	}
	if _, err := r.CreateVirtual(ctx, "alice", "d"); !errors.Is(err, ErrDeviceLimit) {
		t.Fatalf("a fourth device with max_devices 3: %v", err)
	}
	if _, err := r.CreateVirtual(ctx, "alice", "a"); !errors.Is(err, ErrDeviceExists) {
		t.Fatalf("re-creating an enabled device: %v", err)
	}
	for _, bad := range []string{"", "has space", "slash/", string(make([]byte, 129))} {
		if _, err := r.CreateVirtual(ctx, "bob", bad); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("name %q: %v", bad, err)
		}
	}
	// An abandoned enrolment does not block the name.
	first, _ := r.CreateVirtual(ctx, "bob", "phone")
	second, err := r.CreateVirtual(ctx, "bob", "phone")
	if err != nil || bytes.Equal(first.Seed, second.Seed) {
		t.Fatalf("re-creating a pending device: %v", err)
	}
	ds, _ := r.ForUser(ctx, "bob")
	if len(ds) != 1 {
		t.Fatalf("bob has %d devices, want 1", len(ds))
	}
}

func TestValidateSerial(t *testing.T) {
	for _, s := range []string{"GAHT12345678", "caddy-mfa:alice:phone", "arn:aws:iam::123456789012:mfa/JaneDoeMFA"} {
		if err := ValidateSerial(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	for _, s := range []string{"short", "has space in it", "semi;colon;x"} {
		if ValidateSerial(s) == nil {
			t.Errorf("%q was accepted", s)
		}
	}
}

// TestVerifyAmongReadsEachDeviceAgain: a sign-in lists the devices once and checks the code
// later; a device deactivated in between (a virtual one is deleted with it), or another user's
// slipped into the list, refuses a right code.
func TestVerifyAmongReadsEachDeviceAgain(t *testing.T) {
	backends := map[string]func(t *testing.T) store.Store{
		"file":          func(t *testing.T) store.Store { return newTestStore(t) },
		"redis":         func(t *testing.T) store.Store { return storetest.Redis(t, benchPrefix()) },
		"redis-cluster": func(t *testing.T) store.Store { return storetest.RedisOn(t, storetest.RedisCluster, benchPrefix()) },
	}
	for backend, open := range backends {
		t.Run(backend, func(t *testing.T) { verifyAmongReadsEachDeviceAgain(t, open) })
	}
}

// verifyAmongReadsEachDeviceAgain: a device changed between the listing and the code is judged
// as it is, on a backend that locks (file) and on one that spends the step from the listing's
// bytes by compare-and-set (Redis).
func verifyAmongReadsEachDeviceAgain(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	changes := map[string]func(t *testing.T, r *Devices, c *clock, serial string){
		"deactivated": func(t *testing.T, r *Devices, _ *clock, serial string) {
			if _, err := r.Deactivate(ctx, "alice", serial); err != nil {
				t.Fatal(err)
			}
		},
		"enrolled again with a new seed": func(t *testing.T, r *Devices, c *clock, serial string) {
			if _, err := r.Deactivate(ctx, "alice", serial); err != nil {
				t.Fatal(err)
			}
			if again := enrol(t, r, c, "alice", "phone"); again.Device.Serial != serial {
				t.Fatalf("the same name made another serial: %s", again.Device.Serial)
			}
		},
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			r, c := newRegistryOn(open(t))
			nv := enrol(t, r, c, "alice", "phone")
			ds, err := r.ForUser(ctx, "alice")
			if err != nil || len(ds) != 1 {
				t.Fatalf("%d devices, %v", len(ds), err)
			}
			change(t, r, c, nv.Device.Serial)
			c.advance(30 * time.Second)
			if _, err := r.VerifyAmong(ctx, "alice", ds, "", codeAt(t, nv.Seed, c.t, 0)); !errors.Is(err, ErrInvalidCode) {
				t.Fatalf("a device %s after the listing verified: %v", name, err)
			}
		})
	}
	t.Run("used since", func(t *testing.T) {
		r, c := newRegistryOn(open(t))
		nv := enrol(t, r, c, "alice", "phone")
		ds, _ := r.ForUser(ctx, "alice")
		c.advance(30 * time.Second)
		code := codeAt(t, nv.Seed, c.t, 0)
		if _, err := r.Verify(ctx, "alice", "", code); err != nil {
			t.Fatal(err)
		}
		if _, err := r.VerifyAmong(ctx, "alice", ds, "", code); !errors.Is(err, ErrCodeReplayed) {
			t.Fatalf("a code spent after the listing was accepted again from it: %v", err)
		}
	})
	t.Run("another user's", func(t *testing.T) {
		r, c := newRegistryOn(open(t))
		nv := enrol(t, r, c, "bob", "phone")
		ds, _ := r.ForUser(ctx, "bob")
		c.advance(30 * time.Second)
		if _, err := r.VerifyAmong(ctx, "alice", ds, "", codeAt(t, nv.Seed, c.t, 0)); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("bob's device verified for alice: %v", err)
		}
	})
}
