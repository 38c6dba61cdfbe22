package factors

import (
	"context"
	"errors"
	"strings"
	"testing"

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
