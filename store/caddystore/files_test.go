package caddystore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-mfa/caddy-mfa/store"
	"github.com/caddy-mfa/caddy-mfa/store/caddystore"
)

func fileStore(t *testing.T) (*caddystore.Store, string) {
	root := t.TempDir()
	return caddystore.New(&certmagic.FileStorage{Path: root}, "mfa"), filepath.Join(root, "mfa")
}

// TestListSkipsCrashLeftovers: a writer killed mid-write leaves its temporary file beside the
// records. A listing must never return it, and must still return records whose names are
// digits, as certmagic's own temporary files are.
func TestListSkipsCrashLeftovers(t *testing.T) {
	ctx := context.Background()
	st, dir := fileStore(t)
	records := []string{store.Key("users", "1234"), store.Key("users", "4294967295"), store.Key("users", "alice")}
	for _, k := range records {
		if err := st.Put(ctx, k, []byte(`{"name":"x"}`)); err != nil {
			t.Fatal(err)
		}
	}
	fresh := filepath.Join(dir, "users", ".mfa-tmp-111")
	stale := filepath.Join(dir, "users", ".mfa-tmp-222")
	foreign := filepath.Join(dir, "users", ".DS_Store")
	for _, f := range []string{fresh, stale, foreign} {
		if err := os.WriteFile(f, []byte(`{"name":"half`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}

	for _, prefix := range []string{"users/", "users/1", "us", ""} {
		got, err := st.List(ctx, prefix)
		if err != nil {
			t.Fatal(err)
		}
		want := slices.DeleteFunc(slices.Clone(records), func(k string) bool { return len(k) < len(prefix) || k[:len(prefix)] != prefix })
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("List(%q) = %q, want %q", prefix, got, want)
		}
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("a stale temporary file should be swept: %v", err)
	}
	for _, f := range []string{fresh, foreign} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s may still be written or is not ours, so it stays: %v", filepath.Base(f), err)
		}
	}
}

// TestListDuringWrites lists a folder while writers rewrite every record in it, many at once:
// each listing must return every record, exactly once, and nothing else. certmagic's listing
// failed outright when a temporary file vanished under it, and returned them while they lived.
func TestListDuringWrites(t *testing.T) {
	ctx := context.Background()
	st, _ := fileStore(t)
	var want []string
	for i := range 40 {
		k := store.Key("recovery", fmt.Sprint(i))
		if err := st.Put(ctx, k, []byte("{}")); err != nil {
			t.Fatal(err)
		}
		want = append(want, k)
	}
	slices.Sort(want)

	var stop atomic.Bool
	var writers sync.WaitGroup
	for w := range 8 {
		writers.Go(func() {
			for i := 0; !stop.Load(); i++ {
				k := want[(w*5+i)%len(want)]
				if err := st.Put(ctx, k, []byte(fmt.Sprintf(`{"n":%d}`, i))); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	defer func() { stop.Store(true); writers.Wait() }()
	for range 300 {
		got, err := st.List(ctx, "recovery/")
		if err != nil {
			t.Fatalf("listing during writes: %v", err)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("listing during writes returned %d keys, want %d: %q", len(got), len(want), got)
		}
	}
}

// TestListRecordWhereFolderAsked: asking for the records under a key that is itself a record
// finds none, rather than failing.
func TestListRecordWhereFolderAsked(t *testing.T) {
	ctx := context.Background()
	st, _ := fileStore(t)
	if err := st.Put(ctx, store.Key("users", "alice"), []byte("{}")); err != nil {
		t.Fatal(err)
	}
	got, err := st.List(ctx, store.Key("users", "alice")+"/")
	if err != nil || len(got) != 0 {
		t.Fatalf("List under a record = %q, %v; want none", got, err)
	}
}

// TestLinksAndLongNames: an operator's link to a folder is not a record (as before the store
// walked folders itself), a link to a file is; and a key longer than the file system allows names
// no record: Get finds none, Delete and List have nothing to do, and only Put fails.
func TestLinksAndLongNames(t *testing.T) {
	ctx := context.Background()
	st, dir := fileStore(t)
	if err := st.Put(ctx, store.Key("remembered", "alice", "r1"), []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "remembered", "alice"), filepath.Join(dir, "remembered", "bob")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "remembered", "alice", "r1"), filepath.Join(dir, "remembered", "carol")); err != nil {
		t.Fatal(err)
	}
	got, err := st.List(ctx, "remembered/")
	slices.Sort(got)
	if want := []string{"remembered/alice/r1", "remembered/carol"}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("List = %q, %v; want %q", got, err, want)
	}

	long := store.Key("users", strings.Repeat("é", 100)) // 1,200 bytes escaped: over NAME_MAX
	if _, err := st.Get(ctx, long); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get of an over-long name: %v, want ErrNotFound", err)
	}
	if err := st.Delete(ctx, long); err != nil {
		t.Errorf("Delete of an over-long name: %v", err)
	}
	if keys, err := st.List(ctx, long+"/"); err != nil || len(keys) != 0 {
		t.Errorf("List under an over-long name: %q, %v", keys, err)
	}
	if err := st.Put(ctx, long, []byte("{}")); err == nil {
		t.Error("Put of an over-long name succeeded")
	}
}
