package caddymodule

import (
	"crypto/rand"
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

// localKey reads the key kept in file, making it (random, mode 0600) the first time. These files
// live in Caddy's data directory on this machine, never in shared storage: keys must not sit
// beside the data they protect.
func localKey(file string, size int) ([]byte, error) {
	raw, err := os.ReadFile(file)
	if err == nil {
		return decodeKey(file, string(raw), size, true)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading key file: %w", err)
	}
	key := make([]byte, size)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return nil, fmt.Errorf("making key folder: %w", err)
	}
	// O_EXCL: if another process made the file first, use its key rather than replace it.
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return localKey(file, size)
	}
	if err != nil {
		return nil, fmt.Errorf("writing key file: %w", err)
	}
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = os.Remove(file)
		return nil, fmt.Errorf("writing key file: %w", werr)
	}
	return key, nil
}
