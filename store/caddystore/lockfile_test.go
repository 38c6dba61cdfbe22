package caddystore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-mfa/caddy-mfa/store/caddystore"
)

// lockName is the storage lock an Update of key takes in a store with prefix "mfa".
const lockName = "mfa-mfa-k"

func lockedStore(t *testing.T) (*caddystore.Store, *certmagic.FileStorage, string) {
	root := t.TempDir()
	fs := &certmagic.FileStorage{Path: root}
	return caddystore.New(fs, "mfa"), fs, filepath.Join(root, "locks", lockName+".lock")
}

// updateWithin runs an Update of "k" that must end within d, and reports whether it wrote.
func updateWithin(st *caddystore.Store, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return st.Update(ctx, "k", func([]byte) ([]byte, error) { return []byte("v"), nil })
}

// TestLockExcludesCertmagicsLock: nodes of an older release, and anything else that takes
// certmagic's FileStorage lock of the same name, and an Update exclude each other.
func TestLockExcludesCertmagicsLock(t *testing.T) {
	st, fs, lockFile := lockedStore(t)
	ctx := context.Background()
	if err := fs.Lock(ctx, lockName); err != nil {
		t.Fatal(err)
	}
	if err := updateWithin(st, 200*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("an Update while certmagic's lock is held: %v, want it to wait", err)
	}
	if err := fs.Unlock(ctx, lockName); err != nil {
		t.Fatal(err)
	}
	if err := updateWithin(st, 5*time.Second); err != nil {
		t.Fatalf("an Update after certmagic's unlock: %v", err)
	}

	inside, done := make(chan bool), make(chan error)
	go func() {
		done <- st.Update(ctx, "k", func([]byte) ([]byte, error) { inside <- true; <-inside; return []byte("w"), nil })
	}()
	<-inside
	if got, err := fs.TryLock(ctx, lockName); got || err != nil {
		t.Fatalf("certmagic's TryLock during an Update: %v, %v; want false", got, err)
	}
	inside <- true
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(lockFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the lock file outlived its Update: %v", err)
	}
	if got, err := fs.TryLock(ctx, lockName); !got || err != nil {
		t.Fatalf("certmagic's TryLock after an Update: %v, %v; want true", got, err)
	}
}

// TestStaleLockFiles: a lock file a crashed holder left is broken, whether its times are old
// or it was never written whole; a live holder's is not, however it is written.
func TestStaleLockFiles(t *testing.T) {
	now := time.Now()
	at := func(created, updated time.Time) string {
		return `{"created":"` + created.Format(time.RFC3339Nano) + `","updated":"` + updated.Format(time.RFC3339Nano) + `"}`
	}
	for _, c := range []struct {
		name    string
		content string
		mtime   time.Time
		stale   bool
	}{
		{"times 11 s old", at(now.Add(-time.Minute), now.Add(-11*time.Second)), now, true},
		{"created only, 11 s ago", `{"created":"` + now.Add(-11*time.Second).Format(time.RFC3339Nano) + `"}`, now, true},
		{"empty for 3 s", "", now.Add(-3 * time.Second), true},
		{"unreadable for 3 s", `{"crea`, now.Add(-3 * time.Second), true},
		{"an hour old but refreshed", at(now.Add(-time.Hour), now.Add(-time.Second)), now, false},
		{"times 9 s old", at(now.Add(-9*time.Second), now.Add(-9*time.Second)), now, false},
		{"empty, just created", "", now, false},
		{"unreadable, just written", `{"crea`, now, false},
		{"certmagic's with a newline", at(now, now) + "\n", now.Add(-time.Hour), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, _, lockFile := lockedStore(t)
			if err := os.MkdirAll(filepath.Dir(lockFile), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(lockFile, []byte(c.content), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(lockFile, c.mtime, c.mtime); err != nil {
				t.Fatal(err)
			}
			err := updateWithin(st, 300*time.Millisecond)
			switch {
			case c.stale && err != nil:
				t.Fatalf("a crashed holder's lock file was not broken: %v", err)
			case !c.stale && !errors.Is(err, context.DeadlineExceeded):
				t.Fatalf("a live holder's lock file was broken: %v", err)
			}
		})
	}
}
