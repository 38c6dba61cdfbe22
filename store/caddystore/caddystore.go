// Package caddystore keeps caddy-mfa's records in Caddy's configured storage (certmagic.Storage):
// by default the file system under Caddy's data directory, so nothing needs installing. Several
// Caddy instances that share that storage share the records, and Update stays atomic across them
// through the storage's own locks.
package caddystore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// Store is a store.Store over a certmagic.Storage, with every key under a prefix.
type Store struct {
	storage certmagic.Storage
	files   *fileTree // set when storage is the file system: it writes and lists there itself
	prefix  string
	locks   keyedMutex
}

// New wraps storage; keys live under prefix (for example "mfa").
func New(storage certmagic.Storage, prefix string) *Store {
	s := &Store{storage: storage, prefix: strings.Trim(prefix, "/")}
	if files, ok := storage.(*certmagic.FileStorage); ok {
		tree := newFileTree(files)
		s.files = &tree
	}
	return s
}

func (s *Store) key(k string) string { return path.Join(s.prefix, k) }

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	v, err := s.storage.Load(ctx, s.key(key))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNameTooLong) {
		return nil, store.ErrNotFound // a name longer than the file system allows: no such record
	}
	return v, err
}

// Put implements store.Store. certmagic's storages write whole values; on the file system a
// temporary file is renamed over the record (fileTree).
func (s *Store) Put(ctx context.Context, key string, value []byte) error {
	if s.files != nil {
		return s.files.write(s.key(key), value, true)
	}
	return s.storage.Store(ctx, s.key(key), value)
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, key string) error {
	err := s.storage.Delete(ctx, s.key(key))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNameTooLong) {
		return nil
	}
	return err
}

// List implements store.Store.
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	dir, _ := path.Split(prefix)
	keys, err := s.listUnder(ctx, s.key(strings.TrimSuffix(dir, "/")))
	if err != nil {
		return nil, err
	}
	out := keys[:0]
	for _, k := range keys {
		rel := strings.TrimPrefix(k, s.prefix+"/")
		if strings.HasPrefix(rel, prefix) && (s.files != nil || !s.isDir(ctx, k)) {
			out = append(out, rel)
		}
	}
	return out, nil
}

// listUnder lists the storage keys under root, recursively; a missing root holds none.
func (s *Store) listUnder(ctx context.Context, root string) ([]string, error) {
	if s.files != nil {
		return s.files.list(root)
	}
	keys, err := s.storage.List(ctx, root, true)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return keys, err
}

// isDir filters the directory entries that recursive listings of some storages include.
func (s *Store) isDir(ctx context.Context, key string) bool {
	info, err := s.storage.Stat(ctx, key)
	return err == nil && !info.IsTerminal
}

// Update implements store.Store: an in-process mutex spares local callers the storage lock's
// polling, and the storage lock keeps other processes sharing the storage out.
func (s *Store) Update(ctx context.Context, key string, fn func(old []byte) ([]byte, error)) error {
	return s.update(ctx, key, fn, s)
}

// ReserveAttempt implements store.AttemptReserver: store.ReserveAttempt's rule, whose record
// is written without a sync to disk (see unsynced).
func (s *Store) ReserveAttempt(ctx context.Context, key string, now time.Time, p store.AttemptPolicy, epoch string) (store.Reservation, error) {
	update := func(ctx context.Context, key string, fn func([]byte) ([]byte, error)) error {
		return s.update(ctx, key, fn, unsynced{s})
	}
	return store.ReserveThrough(ctx, update, key, now, p, epoch)
}

// update is Update writing through via: the store itself, or unsynced.
func (s *Store) update(ctx context.Context, key string, fn func(old []byte) ([]byte, error), via store.Store) error {
	unlock := s.locks.lock(key)
	defer unlock()
	release, err := s.lockStorage(ctx, "mfa-"+strings.ReplaceAll(s.key(key), "/", "-"))
	if err != nil {
		return fmt.Errorf("locking %s: %w", key, err)
	}
	defer release()
	return store.Apply(ctx, via, key, fn)
}

// unsynced writes records on the file system without waiting for the disk: for attempt
// counts, which every sign-in writes and a success removes. Another process, and this one
// after a crash of its own, reads them as written; only the kernel's crash or a power cut
// can lose the last seconds of counts, as a Redis server's default persistence does.
type unsynced struct{ *Store }

func (u unsynced) Put(ctx context.Context, key string, value []byte) error {
	if u.files != nil {
		return u.files.write(u.key(key), value, false)
	}
	return u.Store.Put(ctx, key, value)
}

// lockStorage takes the storage's lock called name: on the file system a lock file of
// certmagic's kind without its sync (lockfile.go), elsewhere the storage's own Lock.
func (s *Store) lockStorage(ctx context.Context, name string) (release func(), err error) {
	if s.files != nil {
		l, err := s.files.lock(ctx, name)
		if err != nil {
			return nil, err
		}
		return l.release, nil
	}
	if err := s.storage.Lock(ctx, name); err != nil {
		return nil, err
	}
	return func() { _ = s.storage.Unlock(context.WithoutCancel(ctx), name) }, nil
}

// keyedMutex serialises work per key within this process, holding entries only while in use.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*refMutex
}

type refMutex struct {
	sync.Mutex
	refs int
}

func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = make(map[string]*refMutex)
	}
	m := k.locks[key]
	if m == nil {
		m = new(refMutex)
		k.locks[key] = m
	}
	m.refs++
	k.mu.Unlock()

	m.Lock()
	return func() {
		m.Unlock()
		k.mu.Lock()
		if m.refs--; m.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}

// Interface guards
var (
	_ store.Store           = (*Store)(nil)
	_ store.AttemptReserver = (*Store)(nil)
)
