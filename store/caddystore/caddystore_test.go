package caddystore_test

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-mfa/caddy-mfa/store"
	"github.com/caddy-mfa/caddy-mfa/store/caddystore"
	"github.com/caddy-mfa/caddy-mfa/store/storetest"
)

func TestConformance(t *testing.T) {
	root := t.TempDir()
	var mu sync.Mutex
	storetest.Run(t, func(t *testing.T, name string) store.Store {
		mu.Lock()
		defer mu.Unlock()
		// Two stores over one folder are two Caddy nodes sharing a file system.
		return caddystore.New(&certmagic.FileStorage{Path: filepath.Join(root, name)}, "mfa")
	})
}
