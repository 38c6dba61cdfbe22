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
	"sync/atomic"
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
	noLinks  *atomic.Bool // the file system refuses hard links (fileTree)
	created  time.Time
	mu       sync.Mutex  // guards the fields below against keepFresh
	file     os.FileInfo // the lock file this holder last wrote
	wrote    time.Time   // when, by this process's clock
	released bool
	refresh  *time.Timer
}

// lock takes the storage lock called name, waiting while another holder has it.
func (t fileTree) lock(ctx context.Context, name string) (*fileLock, error) {
	l := &fileLock{path: filepath.Join(t.storage.Path, "locks", certmagic.StorageKeys.Safe(name)+".lock"), noLinks: t.noLinks}
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
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
		// Free again at once, but only for a few tries: a name that exists and cannot be
		// looked at (a dangling link) must not spin.
		if free && attempt < 3 {
			continue
		}
		if err := pause(ctx, attempt); err != nil {
			return nil, err
		}
	}
}

// create makes the lock file if none exists, whole: written under a temporary name, then
// linked to the lock's name, which fails if the name exists, so only one process wins and no
// reader ever finds our lock file empty (certmagic's readers take a lock found empty eight
// times for a crashed holder's). On a file system without hard links, an exclusive create.
func (l *fileLock) create() error {
	l.created = time.Now()
	data, _ := json.Marshal(lockMeta{Created: l.created, Updated: l.created})
	if l.noLinks.Load() {
		return l.createInPlace(data)
	}
	var tmp string
	var info os.FileInfo
	err := l.inLocksDir(func() (err error) {
		tmp, info, err = writeTemp(filepath.Dir(l.path), data, false)
		return err
	})
	if err != nil {
		return fmt.Errorf("writing lock file: %w", err) // not ErrExist: the caller gives up
	}
	defer func() { _ = os.Remove(tmp) }()
	switch err := os.Link(tmp, l.path); {
	case errors.Is(err, fs.ErrExist):
		return err
	case err != nil:
		l.noLinks.Store(true)
		return l.createInPlace(data)
	}
	l.file, l.wrote = info, time.Now()
	return nil
}

// createInPlace is create where hard links are refused: an exclusive create, then the write.
func (l *fileLock) createInPlace(data []byte) error {
	var f *os.File
	err := l.inLocksDir(func() (err error) {
		f, err = os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o644)
		return err
	})
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		l.file, err = f.Stat()
		l.wrote = time.Now()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(l.path)
		return fmt.Errorf("writing lock file: %w", err)
	}
	return nil
}

// inLocksDir runs op, and once more after making the locks folder if op found it missing (a
// storage's first lock).
func (l *fileLock) inLocksDir(op func() error) error {
	err := op()
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(l.path), 0o700); err != nil {
			return err
		}
		err = op()
	}
	return err
}

// stillOurs reports whether the file at the lock's path is this holder's: its times name our
// creation, to the nanosecond. A file found empty or cut short is being rewritten in place
// (certmagic's holders of earlier locks of the name refresh whatever file has it; our own
// writes are always whole), and is ours if it is the file we wrote and we wrote it too
// recently for anyone to have broken the lock since: else it may be a new holder's file, half
// written, on the inode number ours had. Only a definite answer says not ours: a look that
// failed says ours. Caller holds mu.
func (l *fileLock) stillOurs() bool {
	data, err := os.ReadFile(l.path)
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	var meta lockMeta
	if err == nil && json.Unmarshal(data, &meta) == nil {
		return meta.Created.Equal(l.created)
	}
	info, err := os.Stat(l.path)
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	return err != nil || os.SameFile(info, l.file) && time.Since(l.wrote) < 2*lockFreshness
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
		if info, err := replaceFile(l.path, data, false); err == nil {
			l.file, l.wrote = info, time.Now()
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
