package caddystore

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
)

// newTree is a file storage of its own, and the path of its lock called "n".
func newTree(t *testing.T) (fileTree, string) {
	tree := newFileTree(&certmagic.FileStorage{Path: t.TempDir()})
	return tree, filepath.Join(tree.storage.Path, "locks", "n.lock")
}

func mustLock(t *testing.T, tree fileTree) *fileLock {
	t.Helper()
	l, err := tree.lock(context.Background(), "n")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

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
	tree, path := newTree(t)
	l := mustLock(t, tree)
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
	l = mustLock(t, tree)
	l.release()
	l.keepFresh()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("a released lock came back: %v", err)
	}
}

// TestStaleLockBrokenByOneWaiter: several nodes (fileTrees of their own) wait on a lock a
// crashed holder left. A waiter that judged the stale file must not remove the lock another
// waiter made in its place: never two holders at once (found by a review: 5-13 trials in 300
// had two, as certmagic's own lock has).
func TestStaleLockBrokenByOneWaiter(t *testing.T) {
	root := t.TempDir()
	path := filepath.Join(root, "locks", "n.lock")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Minute).Format(time.RFC3339Nano)
	stale := []byte(`{"created":"` + old + `","updated":"` + old + `"}`)
	const trials, waiters = 200, 8
	violations := 0
	for trial := 0; trial < trials; trial++ {
		if err := os.WriteFile(path, stale, 0o644); err != nil {
			t.Fatal(err)
		}
		var inside, maxInside atomic.Int32
		var start sync.WaitGroup
		start.Add(1)
		var wg sync.WaitGroup
		for range waiters {
			tree := newFileTree(&certmagic.FileStorage{Path: root})
			wg.Go(func() {
				start.Wait()
				l, err := tree.lock(context.Background(), "n")
				if err != nil {
					t.Error(err)
					return
				}
				n := inside.Add(1)
				for {
					m := maxInside.Load()
					if n <= m || maxInside.CompareAndSwap(m, n) {
						break
					}
				}
				time.Sleep(200 * time.Microsecond)
				inside.Add(-1)
				l.release()
			})
		}
		start.Done()
		wg.Wait()
		if maxInside.Load() > 1 {
			violations++
		}
	}
	if violations > 0 {
		t.Fatalf("%d of %d trials had two holders at once after breaking a stale lock", violations, trials)
	}
}

// TestReleaseLeavesTheNextHoldersLock: this holder stalled past the lock's 10 s, another node
// broke the lock, and the next holder's file is there, still empty (an older node between its
// create and its write), on our inode number (file systems give it again at once) or another.
// Neither keepFresh nor release may touch it. Without the stall, the same empty file on our
// inode is ours being rewritten in place (a certmagic refresh), and release removes it.
func TestReleaseLeavesTheNextHoldersLock(t *testing.T) {
	onOurInode := func(path string) error { return os.Truncate(path, 0) }
	onAnother := func(path string) error {
		if err := os.Remove(path); err != nil {
			return err
		}
		return os.WriteFile(path, nil, 0o644)
	}
	for _, c := range []struct {
		name    string
		stalled bool
		replace func(path string) error
		ours    bool
	}{
		{"next holder on our inode, after a stall", true, onOurInode, false},
		{"next holder on another inode, after a stall", true, onAnother, false},
		{"ours, rewritten in place", false, onOurInode, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			tree, path := newTree(t)
			l := mustLock(t, tree)
			if c.stalled {
				l.wrote = l.wrote.Add(-2*lockFreshness - time.Second)
			}
			if err := c.replace(path); err != nil {
				t.Fatal(err)
			}
			if !c.ours {
				l.keepFresh()
				if data, _ := os.ReadFile(path); len(data) != 0 {
					t.Errorf("keepFresh wrote our times over the next holder's lock: %s", data)
				}
			}
			l.release()
			if _, err := os.Stat(path); (err == nil) == c.ours {
				t.Fatalf("after release the lock file is there: %v; want %v", err == nil, !c.ours)
			}
		})
	}
}

// TestReleaseAfterCertmagicRefreshedIt: a certmagic holder of an earlier lock of the name
// rewrites whatever file has it in place, five seconds on, keeping its creation time. The lock
// is still this holder's, and its release removes it (or that goroutine would keep it fresh, and
// held, for good).
func TestReleaseAfterCertmagicRefreshedIt(t *testing.T) {
	tree, path := newTree(t)
	l := mustLock(t, tree)
	later := time.Now().Add(5 * time.Second)
	refreshed, _ := json.Marshal(lockMeta{Created: l.created, Updated: later})
	if err := os.WriteFile(path, refreshed, 0o644); err != nil { // in place: the same file
		t.Fatal(err)
	}
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	l.release()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the lock outlived its release after certmagic refreshed it: %v", err)
	}
}

// TestLockEndsWithItsContext: a name that exists and cannot be looked at (a dangling link
// where the lock file goes) makes every create fail and every look find nothing; lock keeps
// pausing and ends with its context instead of spinning (found by a review).
func TestLockEndsWithItsContext(t *testing.T) {
	tree, path := newTree(t)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(filepath.Dir(path), "gone"), path); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := tree.lock(ctx, "n"); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("lock beside a dangling link: %v, want its context's end", err)
		}
	case <-time.After(5 * time.Second):
		_ = os.Remove(path) // let it finish
		<-done
		t.Fatal("lock ignored its 100 ms context for 5 s")
	}
}

// TestLockWithoutHardLinks: where the file system refuses hard links, locks are made by an
// exclusive create, and still exclude each other and go at release.
func TestLockWithoutHardLinks(t *testing.T) {
	tree, path := newTree(t)
	tree.noLinks.Store(true)
	l := mustLock(t, tree)
	other := newFileTree(tree.storage)
	other.noLinks.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := other.lock(ctx, "n"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a second lock while the first is held: %v", err)
	}
	if meta := readLock(t, path); !meta.Created.Equal(l.created) {
		t.Fatalf("the lock file holds %+v, not the holder's creation", meta)
	}
	l.release()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the lock outlived its release: %v", err)
	}
	mustLock(t, other).release()
}
