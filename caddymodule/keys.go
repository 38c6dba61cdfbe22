package caddymodule

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// decodeKey reads a key given as base64 (standard or URL alphabet, padded or not).
func decodeKey(field, s string, size int, exact bool) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if (exact && len(b) != size) || len(b) < size {
				want := fmt.Sprintf("at least %d", size)
				if exact {
					want = fmt.Sprint(size)
				}
				return nil, fmt.Errorf("%s: the key is %d bytes, want %s (make one with: head -c %d /dev/urandom | base64)", field, len(b), want, size)
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("%s: not base64 (make a key with: head -c %d /dev/urandom | base64)", field, size)
}

// readKeyFile returns the content of a key file, or nil when there is none. It never writes:
// Provision reads keys, and `caddy validate` runs Provision.
func readKeyFile(file string) ([]byte, error) {
	raw, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading key file: %w", err)
	}
	return raw, nil
}

// newKey is a fresh random key.
func newKey(size int) ([]byte, error) {
	key := make([]byte, size)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return key, nil
}

// writeKeyFile keeps a generated key in file (mode 0600). These files live in Caddy's config
// directory on this machine, never in shared storage: keys must not sit beside the data they
// protect. If another process made the file since Provision read it, its key must be this one:
// the running config already seals and signs with this key.
func writeKeyFile(file string, key []byte) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return fmt.Errorf("making key folder: %w", err)
	}
	encoded := base64.StdEncoding.EncodeToString(key) + "\n"
	// O_EXCL: never replace a key another process made.
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		theirs, rerr := decodeExisting(file, len(key))
		if rerr != nil {
			return rerr
		}
		if subtle.ConstantTimeCompare(theirs, key) != 1 {
			return fmt.Errorf("%s: another process generated a different key while this config was loading; start again to use it", file)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("writing key file: %w", err)
	}
	_, werr := f.WriteString(encoded)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = os.Remove(file)
		return fmt.Errorf("writing key file: %w", werr)
	}
	return nil
}

func decodeExisting(file string, size int) ([]byte, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading key file: %w", err)
	}
	return decodeKey(file, string(raw), size, true)
}
