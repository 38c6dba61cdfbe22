package caddystore

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/caddyserver/certmagic"
)

// fileTree writes and lists records of a certmagic.FileStorage directly. The storage's own
// writes go through a temporary file with a bare numeric name beside the record, which a
// process killed mid-write leaves for good, and which a listing cannot tell from a record whose
// name is digits (a user "1234", a serial). Its listing also fails outright when a temporary file
// vanishes under it. Our temporary files start with a dot, which store.Key never writes, so a
// listing skips them, and one left by a crash is swept once it is stale.
type fileTree struct {
	storage *certmagic.FileStorage
	// noLinks is set once the file system refused a hard link, so that its locks are made
	// in place from then on rather than after a refused try each time (lockfile.go).
	noLinks *atomic.Bool
}

func newFileTree(storage *certmagic.FileStorage) fileTree {
	return fileTree{storage: storage, noLinks: new(atomic.Bool)}
}

// tempPrefix starts every temporary file fileTree writes; store.Key never writes a dot.
const tempPrefix = ".mfa-tmp-"

// staleTemp is the age after which a temporary file is a crashed writer's leftover: a write
// takes milliseconds, and nothing ever renames a file this old.
const staleTemp = time.Hour

var errNotDir, errNameTooLong = syscall.ENOTDIR, syscall.ENAMETOOLONG

// write stores value under key in full or not at all; durably, unless for caddystore's
// unsynced.
func (t fileTree) write(key string, value []byte, durable bool) error {
	name := t.storage.Filename(key)
	if err := os.MkdirAll(filepath.Dir(name), 0o700); err != nil {
		return err
	}
	_, err := replaceFile(name, value, durable)
	return err
}

// replaceFile writes value to name in full or not at all: a temporary file beside it, synced
// when durable, renamed over it, as certmagic's own atomic file does. It returns the file's
// identity.
func replaceFile(name string, value []byte, durable bool) (os.FileInfo, error) {
	tmp, info, err := writeTemp(filepath.Dir(name), value, durable)
	if err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, name); err != nil {
		_ = os.Remove(tmp)
		return nil, err
	}
	return info, nil
}

// writeTemp writes data to a new temporary file in dir, synced when durable, and returns its
// name and identity.
func writeTemp(dir string, data []byte, durable bool) (string, os.FileInfo, error) {
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return "", nil, err
	}
	_, err = f.Write(data)
	if err == nil && durable {
		err = f.Sync()
	}
	var info os.FileInfo
	if err == nil {
		info, err = f.Stat()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return "", nil, err
	}
	return f.Name(), info, nil
}

// list returns every record key under root (a storage key), walking folders itself so that an
// entry removed or renamed during the walk is passed over rather than failing the listing.
func (t fileTree) list(root string) ([]string, error) {
	var keys []string
	err := t.walk(root, &keys)
	return keys, err
}

func (t fileTree) walk(dirKey string, keys *[]string) error {
	entries, err := os.ReadDir(t.storage.Filename(dirKey))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotDir) || errors.Is(err, errNameTooLong) {
		// Removed since its parent was read, a record where a folder was asked for, or a name
		// longer than the file system allows, which no record can have.
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		key := path.Join(dirKey, e.Name())
		switch {
		case strings.HasPrefix(e.Name(), "."):
			t.sweep(key, e)
		case e.IsDir():
			if err := t.walk(key, keys); err != nil {
				return err
			}
		case e.Type()&fs.ModeSymlink != 0 && t.linksToFolder(key):
			// An operator's link to a folder is not a record; it is not followed, as before.
		default:
			*keys = append(*keys, key)
		}
	}
	return nil
}

func (t fileTree) linksToFolder(key string) bool {
	info, err := os.Stat(t.storage.Filename(key))
	return err == nil && info.IsDir()
}

// sweep removes a temporary file that a crashed writer left, once it is stale.
func (t fileTree) sweep(key string, e fs.DirEntry) {
	if !strings.HasPrefix(e.Name(), tempPrefix) || e.IsDir() {
		return
	}
	if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleTemp {
		_ = os.Remove(t.storage.Filename(key))
	}
}
