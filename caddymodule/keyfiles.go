package caddymodule

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// Generated keys live in Caddy's config directory, not its data directory: the data directory
// holds the sealed records (Caddy's default storage), and a backup of it must not carry the
// keys that open them.

// keyDir is this machine's folder for generated keys.
func keyDir() string { return filepath.Join(caddy.AppConfigDir(), "mfa") }

// legacyKeyDir is where keys were generated before: beside the records, in the data directory.
func legacyKeyDir() string { return filepath.Join(caddy.AppDataDir(), "mfa") }

// keyFileWrite is a generated key file that Start puts in place: a legacy file to move (from
// set) or a new key to write. Provision only reads, so that `caddy validate` writes nothing.
type keyFileWrite struct {
	from, to string
	key      []byte // a new key; nil for a move
}

// generatedKey reads the generated key named file without writing anything: from the config
// directory, else from the legacy folder (moved at Start), else a new random key (written at
// Start).
func (a *App) generatedKey(file string, size int) ([]byte, error) {
	to := filepath.Join(keyDir(), file)
	from := filepath.Join(legacyKeyDir(), file)
	a.warnIfInStorage(to)
	current, err := readKeyFile(to)
	if err != nil {
		return nil, err
	}
	var legacy []byte
	if !samePath(from, to) {
		if legacy, err = readKeyFile(from); err != nil {
			return nil, fmt.Errorf("mfa: moving the generated key %s out of Caddy's data directory: %w", from, err)
		}
	}
	switch {
	case legacy != nil && current != nil && !bytes.Equal(bytes.TrimSpace(current), bytes.TrimSpace(legacy)):
		return nil, fmt.Errorf("mfa: moving the generated key %s out of Caddy's data directory: %s and %s hold different keys: keep the one your data opens with and remove the other", from, from, to)
	case legacy != nil:
		a.keyWrites = append(a.keyWrites, keyFileWrite{from: from, to: to})
		return decodeKey(from, string(legacy), size, true)
	case current != nil:
		return decodeKey(to, string(current), size, true)
	}
	key, err := newKey(size)
	if err != nil {
		return nil, err
	}
	a.keyWrites = append(a.keyWrites, keyFileWrite{to: to, key: bytes.Clone(key)})
	return key, nil
}

// writeKeyFiles puts the generated keys that Provision read or made in place.
func (a *App) writeKeyFiles() error {
	defer func() {
		for _, w := range a.keyWrites {
			clear(w.key)
		}
		a.keyWrites = nil
	}()
	for _, w := range a.keyWrites {
		if w.key != nil {
			if err := writeKeyFile(w.to, w.key); err != nil {
				return fmt.Errorf("mfa: generated key: %w", err)
			}
			a.logger.Warn("generated a new key; back it up, apart from the data: without it the records do not open",
				zap.String("file", w.to))
			continue
		}
		moved, err := moveKeyFile(w.from, w.to)
		if err != nil {
			return fmt.Errorf("mfa: moving the generated key %s out of Caddy's data directory: %w", w.from, err)
		}
		if moved {
			a.logger.Warn("moved a generated key out of Caddy's data directory, away from the records it protects; back it up apart from the data",
				zap.String("from", w.from), zap.String("to", w.to))
		}
	}
	return nil
}

// wrongKey explains a store that the encryption key does not open. When the key is a
// generated one about to be made anew, its file is missing (a restore without the key files):
// the error names the file to bring back.
func (a *App) wrongKey(err error) error {
	for _, w := range a.keyWrites {
		if w.key != nil && filepath.Base(w.to) == "encryption.key" && errors.Is(err, store.ErrWrongKey) {
			return fmt.Errorf("mfa: %w; %s is missing: restore it from your backup (or set encryption_key), then start again", err, w.to)
		}
	}
	return fmt.Errorf("mfa: %w", err)
}

// moveKeyFile moves a key file without ever losing it: the copy is written and synced to disk
// before the original goes. A key already at to must be the same key, or nothing is touched.
func moveKeyFile(from, to string) (bool, error) {
	if samePath(from, to) {
		return false, nil
	}
	raw, err := os.ReadFile(from)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	existing, err := os.ReadFile(to)
	switch {
	case err == nil && !bytes.Equal(bytes.TrimSpace(existing), bytes.TrimSpace(raw)):
		return false, fmt.Errorf("%s and %s hold different keys: keep the one your data opens with and remove the other", from, to)
	case err == nil: // a copy made before a crash: the same key, in place already
	case errors.Is(err, fs.ErrNotExist):
		if err := writeSynced(to, raw); err != nil {
			return false, err
		}
	default:
		return false, err
	}
	if err := os.Remove(from); err != nil {
		return false, err
	}
	return true, syncDir(filepath.Dir(from))
}

// writeSynced writes a new file (mode 0600) through a temporary one and links it into place, so
// to is either absent or whole, and on disk before this returns.
func writeSynced(to string, raw []byte) error {
	dir := filepath.Dir(to)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".key-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(raw)
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), to); err != nil { // fails if another process put a key there
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func samePath(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == bb
}

// warnIfInStorage says so when the key folder lies inside the file storage that holds the
// records (Caddy's config and data directories coincide on macOS and Windows).
func (a *App) warnIfInStorage(keyFile string) {
	fsStore, ok := a.ctx.Storage().(*certmagic.FileStorage)
	if !ok || a.Storage.Backend != "caddy" {
		return
	}
	root, err1 := filepath.Abs(fsStore.Path)
	key, err2 := filepath.Abs(keyFile)
	if err1 != nil || err2 != nil {
		return
	}
	if rel, err := filepath.Rel(root, key); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		a.logger.Warn("the generated key lies inside the storage folder, so a backup of the records carries it: set encryption_key and signing_keys, or XDG_CONFIG_HOME",
			zap.String("key", key), zap.String("storage", root))
	}
}

// derivedKey is a key for one purpose, derived from a master key (HKDF-SHA256), so one
// configured secret serves several uses without one use revealing another's key.
func derivedKey(master []byte, purpose string, size int) ([]byte, error) {
	return hkdf.Key(sha256.New, master, nil, "caddy-mfa "+purpose, size)
}
