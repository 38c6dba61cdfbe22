package factors

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// failingStore fails every write to keys with a given prefix, as a full disk or a lost
// connection would.
type failingStore struct {
	store.Store
	prefix string
}

var errDisk = errors.New("disk full")

func (f *failingStore) Put(ctx context.Context, key string, v []byte) error {
	if strings.HasPrefix(key, f.prefix) {
		return errDisk
	}
	return f.Store.Put(ctx, key, v)
}

func (f *failingStore) Update(ctx context.Context, key string, fn func([]byte) ([]byte, error)) error {
	if strings.HasPrefix(key, f.prefix) {
		return errDisk
	}
	return f.Store.Update(ctx, key, fn)
}

// TestFailedWritesLeaveNothingHalfMade: whichever write fails, the user sees either the whole
// device or none, and can try again.
func TestFailedWritesLeaveNothingHalfMade(t *testing.T) {
	ctx := context.Background()
	r, c, st := newRegistry(t)
	for _, prefix := range []string{"devices/", "userdevices/"} {
		r.store = &failingStore{Store: st, prefix: prefix}
		if _, err := r.CreateVirtual(ctx, "alice", "phone"); !errors.Is(err, errDisk) {
			t.Fatalf("%s failing: CreateVirtual = %v", prefix, err)
		}
		r.store = st
		if ds, err := r.ForUser(ctx, "alice"); err != nil || len(ds) != 0 {
			t.Fatalf("%s failing left %d devices (%v)", prefix, len(ds), err)
		}
	}
	nv, err := r.CreateVirtual(ctx, "alice", "phone")
	if err != nil {
		t.Fatalf("after the failures: %v", err)
	}
	r.store = &failingStore{Store: st, prefix: "devices/"}
	if _, err := r.Enable(ctx, "alice", nv.Device.Serial, codeAt(t, nv.Seed, c.t, -1), codeAt(t, nv.Seed, c.t, 0)); !errors.Is(err, errDisk) {
		t.Fatalf("enable with a failing store: %v", err)
	}
	r.store = st
	d, _ := r.Get(ctx, nv.Device.Serial)
	if d.Enabled || d.LastStep != 0 {
		t.Fatalf("a failed enable changed the device: %+v", d)
	}
	if _, err := r.Enable(ctx, "alice", nv.Device.Serial, codeAt(t, nv.Seed, c.t, -1), codeAt(t, nv.Seed, c.t, 0)); err != nil {
		t.Fatalf("enable after the failure: %v", err)
	}
}

// TestInterruptedImportIsRolledBack: a crash between the devices of one import leaves a batch
// record; the next start removes the batch's tokens once it is older than any running import.
func TestInterruptedImportIsRolledBack(t *testing.T) {
	ctx := context.Background()
	r, c, st := newRegistry(t)
	seeds := []HardwareSeed{
		{Serial: "GAHT20000001", Name: "a", Seed: []byte("12345678901234567890"), TOTP: VirtualTOTP},
		{Serial: "GAHT20000002", Name: "b", Seed: []byte("12345678901234567890"), TOTP: VirtualTOTP},
		{Serial: "GAHT20000003", Name: "c", Seed: []byte("12345678901234567890"), TOTP: VirtualTOTP},
	}
	// The second device's write fails, and so does undoing the first, as when the process dies:
	// the first token and the batch record remain.
	r.store = &failAfter{Store: st, prefix: "devices/", allowed: 1}
	if _, err := r.ImportHardware(ctx, seeds); err == nil {
		t.Fatal("the import did not fail")
	}
	r.store = st
	if d, _ := r.All(ctx); len(d) != 1 {
		t.Fatalf("the interrupted import left %d devices, want the first", len(d))
	}
	if n, _ := r.RollBackImports(ctx); n != 0 {
		t.Fatalf("rolled back a recent import, which may still be running: %d", n)
	}
	c.advance(StaleImport + time.Second)
	if n, err := r.RollBackImports(ctx); err != nil || n != 1 {
		t.Fatalf("rollback: %d, %v", n, err)
	}
	if d, _ := r.All(ctx); len(d) != 0 {
		t.Fatalf("%d devices of an interrupted import survived", len(d))
	}
	if _, err := r.ImportHardware(ctx, seeds); err != nil {
		t.Fatalf("importing the file again after the crash: %v", err)
	}
}

// failAfter lets allowed writes under prefix through, then fails them.
type failAfter struct {
	store.Store
	prefix  string
	allowed int
}

func (f *failAfter) Update(ctx context.Context, key string, fn func([]byte) ([]byte, error)) error {
	if strings.HasPrefix(key, f.prefix) {
		if f.allowed == 0 {
			return errDisk
		}
		f.allowed--
	}
	return f.Store.Update(ctx, key, fn)
}
