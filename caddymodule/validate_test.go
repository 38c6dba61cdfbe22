package caddymodule

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/caddyserver/certmagic"

	"github.com/caddy-mfa/caddy-mfa/identity"
	"github.com/caddy-mfa/caddy-mfa/store"
	"github.com/caddy-mfa/caddy-mfa/store/caddystore"
)

// validateConfig is a config with a bootstrap user and generated keys, on the given storage.
func validateConfig(storage, extra string) string {
	return fmt.Sprintf(`{
	admin {$MFA_TEST_ADMIN}
	http_port %d
	storage file_system %s
	mfa {
		%s
		user alice $2a$04$yDkr1gRCtNQojfOxyVfbx.uKfwuhdsC.MfBohx1nJLI5Gn91mCrgS {
			groups admins
		}
	}
}
http://localhost:%d {
	mfa
	respond "ok"
}
`, integrationPort, storage, extra, integrationPort)
}

// caddyValidate does what `caddy validate --config FILE` does: adapt the Caddyfile, decode it,
// caddy.Validate (provision and validate every module, start nothing).
func caddyValidate(t *testing.T, caddyfile string) error {
	t.Helper()
	file := filepath.Join(t.TempDir(), "Caddyfile")
	if err := os.WriteFile(file, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	input, _, _, err := caddycmd.LoadConfig(file, "caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	var cfg *caddy.Config
	if err := caddy.StrictUnmarshalJSON(caddy.RemoveMetaFields(input), &cfg); err != nil {
		t.Fatal(err)
	}
	// Validate makes the validated storage CertMagic's default, as the command does; put back
	// the running config's.
	defaultStorage := certmagic.Default.Storage
	defer func() { certmagic.Default.Storage = defaultStorage }()
	return caddy.Validate(cfg)
}

// snapshot is every file and folder under the roots, with the files' contents.
func snapshot(t *testing.T, roots ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, root := range roots {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				out[path+"/"] = ""
				return nil
			}
			raw, err := os.ReadFile(path)
			out[path] = string(raw)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func sameFiles(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for path, content := range after {
		if old, ok := before[path]; !ok {
			t.Errorf("%s made %s", what, path)
		} else if old != content {
			t.Errorf("%s changed %s", what, path)
		}
	}
	for path := range before {
		if _, ok := after[path]; !ok {
			t.Errorf("%s removed %s", what, path)
		}
	}
}

func userGroups(t *testing.T, storage, name string) []string {
	t.Helper()
	users := identity.NewDirectory(caddystore.New(&certmagic.FileStorage{Path: storage}, "mfa"), time.Now, 4)
	u, err := users.Get(context.Background(), name)
	if err != nil {
		t.Fatalf("user %s: %v", name, err)
	}
	return u.Groups
}

// TestValidateChangesNothing: `caddy validate` provisions a config without starting it, so it
// writes no key file (new, or moved out of the data directory), no key check and no user; the
// real start that follows does all of that.
func TestValidateChangesNothing(t *testing.T) {
	data, config, storage := t.TempDir(), t.TempDir(), t.TempDir()
	t.Setenv("XDG_DATA_HOME", data)
	t.Setenv("XDG_CONFIG_HOME", config)
	// A running instance's record: alice in the ops group, which the config would change.
	users := identity.NewDirectory(caddystore.New(&certmagic.FileStorage{Path: storage}, "mfa"), time.Now, 4)
	if err := users.Ensure(context.Background(), "alice", "$2a$04$yDkr1gRCtNQojfOxyVfbx.uKfwuhdsC.MfBohx1nJLI5Gn91mCrgS", []string{"ops"}); err != nil {
		t.Fatal(err)
	}
	// A signing key from an earlier version, in the data directory: validate must not move it.
	legacy := filepath.Join(data, "caddy", "mfa", "signing.key")
	if err := os.MkdirAll(filepath.Dir(legacy), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(legacy, []byte(randomKey(t)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, data, config, storage)

	if err := caddyValidate(t, validateConfig(storage, "")); err != nil {
		t.Fatalf("validate: %v", err)
	}
	sameFiles(t, "caddy validate", before, snapshot(t, data, config, storage))
	if got := userGroups(t, storage, "alice"); !slices.Equal(got, []string{"ops"}) {
		t.Errorf("after validate alice is in %v, want [ops] as before", got)
	}

	startCaddy(t, validateConfig(storage, ""))
	for _, name := range []string{"encryption.key", "signing.key"} {
		if _, err := os.Stat(filepath.Join(config, "caddy", "mfa", name)); err != nil {
			t.Errorf("the start did not put %s in the config directory: %v", name, err)
		}
	}
	if _, err := os.Stat(legacy); !os.IsNotExist(err) {
		t.Errorf("the start left the legacy signing key in the data directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(storage, "mfa", "keycheck")); err != nil {
		t.Errorf("the start recorded no key check: %v", err)
	}
	if got := userGroups(t, storage, "alice"); !slices.Equal(got, []string{"admins"}) {
		t.Errorf("after the start alice is in %v, want [admins] from the config", got)
	}
}

// TestValidateRefusesAnotherKeyWithoutWriting: a configured encryption key that does not open
// the store's key check fails validation, read-only.
func TestValidateRefusesAnotherKeyWithoutWriting(t *testing.T) {
	storage := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	sealer, _ := store.NewSealer(randomBytes(t, store.KeySize))
	if err := store.CheckKey(context.Background(), caddystore.New(&certmagic.FileStorage{Path: storage}, "mfa"), sealer); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, storage)
	keys := fmt.Sprintf("encryption_key %s\n\t\tsigning_keys %s", base64.StdEncoding.EncodeToString(randomBytes(t, store.KeySize)), randomKey(t))
	err := caddyValidate(t, validateConfig(storage, keys))
	if err == nil || !strings.Contains(err.Error(), "encryption_key is not the key") {
		t.Fatalf("validate with another key: %v", err)
	}
	sameFiles(t, "a refused validate", before, snapshot(t, storage))
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}
