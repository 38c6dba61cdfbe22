package caddystore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// The storage lock of an Update on the file system, which caddystore takes itself.
//
// certmagic's FileStorage.Lock creates locks/<name>.lock exclusively, writes its times as JSON
// and syncs the file to disk; a goroutine rewrites the times every 5 s until the file is gone,
// and a waiter looks again once a second. For an update that lasts a millisecond the sync is
// half its cost (two of a sign-in's four syncs), and the second's wait is what two nodes pay
// whenever they want one record. The sync buys nothing: other processes see the file and its
// bytes once they are written (over NFS, once the file is closed), and after a crash a lock is
// stale, synced or not. So fileLock takes the same lock, at the same path and in the same format,
// so that certmagic's locks (older nodes sharing the folder) and these exclude each other; it
// does not sync, waits in milliseconds, and rewrites its times only if still held after 5 s (a
// stalled disk), never once released.

// lockFreshness is how often a held lock's times are rewritten; a lock whose times are older
// than twice that is a crashed holder's (certmagic's lockFreshnessInterval and its rule).
const lockFreshness = 5 * time.Second

// emptyLockGrace is how long a lock file may stay empty or unreadable (a holder between
// creating and writing it, or rewriting it) before it counts as a crashed holder's: judged by
// its modification time, which on a shared folder is the file server's clock, so it allows
// the same skew between clocks as the times inside a lock file do.
const emptyLockGrace = 2 * lockFreshness

// lockMeta is certmagic's lock file content. Created, to the nanosecond, tells one holder's
// lock from the next one's.
type lockMeta struct {
	Created time.Time `json:"created,omitempty"`
	Updated time.Time `json:"updated,omitempty"`
}

type fileLock struct {
	path     string
	created  time.Time
	mu       sync.Mutex  // guards the fields below against keepFresh
	file     os.FileInfo // the lock file as this holder last wrote it
	released bool
	refresh  *time.Timer
}

// lock takes the storage lock called name, waiting while another holder has it.
func (t fileTree) lock(ctx context.Context, name string) (*fileLock, error) {
	l := &fileLock{path: filepath.Join(t.storage.Path, "locks", certmagic.StorageKeys.Safe(name)+".lock")}
	for attempt := 0; ; attempt++ {
		err := l.create()
		if err == nil {
			l.mu.Lock()
			l.refresh = time.AfterFunc(lockFreshness, l.keepFresh)
			l.mu.Unlock()
			return l, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("creating lock file: %w", err)
		}
		free, err := breakIfStale(l.path)
		if err != nil {
			return nil, err
		}
		if free {
			continue
		}
		if err := pause(ctx, attempt); err != nil {
			return nil, err
		}
	}
}

// create makes the lock file if none exists: an exclusive create, which only one process wins.
func (l *fileLock) create() error {
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(l.path), 0o700); err != nil {
			return err
		}
		f, err = os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o644)
	}
	if err != nil {
		return err
	}
	l.created = time.Now()
	data, _ := json.Marshal(lockMeta{Created: l.created, Updated: l.created})
	_, err = f.Write(data)
	if err == nil {
		l.file, err = f.Stat()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(l.path)
		return fmt.Errorf("writing lock file: %w", err) // not ErrExist: the caller gives up
	}
	return nil
}

// stillOurs reports whether the file at the lock's path is this holder's: the file it wrote
// (same inode), untouched since, or rewritten in place with its creation time (certmagic's
// holders of earlier locks of the name refresh whatever file has it). A new holder's file is
// not ours, even on our inode number, which the file system may give again. Only a definite
// answer says not ours: a look that failed says ours. Caller holds mu.
func (l *fileLock) stillOurs() bool {
	for try := 0; ; try++ {
		info, err := os.Stat(l.path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return false
		case err != nil:
			return true
		case !os.SameFile(info, l.file):
			return false
		case info.ModTime().Equal(l.file.ModTime()):
			return true
		}
		var meta lockMeta
		if data, err := os.ReadFile(l.path); err == nil && json.Unmarshal(data, &meta) == nil {
			return meta.Created.Equal(l.created)
		}
		if try == 3 {
			return false
		}
		time.Sleep(time.Millisecond) // being written: look again when it is whole
	}
}

// release removes the lock file, unless another holder's is there by now.
func (l *fileLock) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.released = true
	l.refresh.Stop()
	for try := 0; try < 5 && l.stillOurs(); try++ {
		// Windows refuses to remove a file another process has open (a waiter reading it):
		// try again a moment later rather than leave the lock to go stale.
		if err := os.Remove(l.path); err == nil || errors.Is(err, fs.ErrNotExist) {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// keepFresh rewrites the times of a lock still held, as certmagic's holders do, so that no
// waiter takes it for a crashed holder's; whole, through a renamed file, so no reader sees it
// empty.
func (l *fileLock) keepFresh() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return
	}
	if l.stillOurs() {
		data, _ := json.Marshal(lockMeta{Created: l.created, Updated: time.Now()})
		if replaceFile(l.path, data, false) == nil {
			if info, err := os.Stat(l.path); err == nil {
				l.file = info
			}
		}
	}
	l.refresh.Reset(lockFreshness)
}

// pause waits before looking at a held lock again: a random while that doubles with the
// attempts, from a millisecond up to 64.
func pause(ctx context.Context, attempt int) error {
	limit := time.Millisecond << min(attempt, 6)
	return store.Sleep(ctx, limit/2+rand.N(limit/2))
}
