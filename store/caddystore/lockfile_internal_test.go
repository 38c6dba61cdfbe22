package caddystore

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/caddyserver/certmagic"
)

func readLock(t *testing.T, path string) lockMeta {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var meta lockMeta
	if err := json.Unmarshal(data, &meta); err != nil {
		t.Fatal(err)
	}
	return meta
}

// TestKeepFreshOnlyWhileHeld: a held lock's times are rewritten with its own creation time;
// a lock released, or broken and taken by another holder meanwhile, is left alone, and a
// release does not remove another holder's lock.
func TestKeepFreshOnlyWhileHeld(t *testing.T) {
	tree := fileTree{storage: &certmagic.FileStorage{Path: t.TempDir()}}
	l, err := tree.lock(context.Background(), "n")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(tree.storage.Path, "locks", "n.lock")
	before := readLock(t, path)
	l.keepFresh()
	after := readLock(t, path)
	if !after.Created.Equal(before.Created) || !after.Updated.After(before.Updated) {
		t.Fatalf("refreshed %+v into %+v; want the same creation and a later update", before, after)
	}

	other := `{"created":"2030-01-01T00:00:00Z","updated":"2030-01-01T00:00:00Z"}`
	if err := os.WriteFile(path, []byte(other), 0o644); err != nil {
		t.Fatal(err)
	}
	l.keepFresh()
	l.release()
	if data, _ := os.ReadFile(path); string(data) != other {
		t.Fatalf("another holder's lock became %q", data)
	}

	_ = os.Remove(path)
	if l, err = tree.lock(context.Background(), "n"); err != nil {
		t.Fatal(err)
	}
	l.release()
	l.keepFresh()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("a released lock came back: %v", err)
	}
}
