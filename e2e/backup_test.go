package e2e

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBackupAndRestore follows docs/production.md's "Backup and restore" word for word: a node
// with generated keys, `caddy storage export --config Caddyfile --output mfa-backup.tar`, the
// generated key files copied apart, `caddy storage import --config Caddyfile --input
// mfa-backup.tar` on a fresh machine. There the user passes a factor with a new code of the
// same seed, a code spent before the backup stays spent, the access key still mints tokens, a
// token minted before the backup still verifies; and the backup alone (other keys) starts
// nothing.
func TestBackupAndRestore(t *testing.T) {
	machineA, machineB := t.TempDir(), t.TempDir()
	a := startBackupNode(t, machineA)
	now := time.Now()
	serials, seeds := enrolDevices(t, a, now, "phone", "cli")
	out := a.caddyCLI(t, nil, "access-key", "create", "--user", "demo", "--address="+strings.TrimPrefix(a.admin, "http://"))
	keyID, keySecret := jsonField(t, out, "access_key_id"), jsonField(t, out, "secret_access_key")
	accessKey := []string{"Authorization", basicAuth(keyID, keySecret)}
	var before struct {
		Token string `json:"session_token"`
	}
	if code := newAPIClient(t, a.url).call("POST", "/.mfa/api/session-token", map[string]string{}, &before, accessKey...); code != http.StatusOK {
		t.Fatalf("a token before the backup: %d", code)
	}
	a.stop()

	runCaddy(t, machineA, "storage", "export", "--config", "Caddyfile", "--output", "mfa-backup.tar")
	backup, err := os.ReadFile(filepath.Join(machineA, "mfa-backup.tar"))
	if err != nil {
		t.Fatal(err)
	}
	checkBackupHoldsNoSecret(t, machineA, backup, append(seeds, keySecret)...)

	copyKeyFiles(t, machineA, machineB)
	restore(t, machineB, backup)
	b := startBackupNode(t, machineB)
	checkRestored(t, b, now, serials, seeds, accessKey, before.Token)
	b.stop()

	machineC := t.TempDir() // the records without their keys
	restore(t, machineC, backup)
	refusesToStart(t, machineC, "encryption_key is not the key this store's secrets were sealed with",
		"encryption.key is missing: restore it from your backup")
	if _, err := os.Stat(filepath.Join(keyFileDir(machineC), "encryption.key")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the refused start left a key of its own where the backup's must go: %v", err)
	}
	copyKeyFiles(t, machineA, machineC) // the forgotten keys, brought back
	startBackupNode(t, machineC).stop()
}

// checkRestored checks what the docs promise of a restore: devices and access keys work as before.
func checkRestored(t *testing.T, b *node, spentAt time.Time, serials, seeds []string, accessKey []string, before string) {
	c := b.signIn(t, "demo")
	if code := c.call("POST", "/.mfa/api/verify", map[string]string{"code": oathtool(t, seeds[0], spentAt)}, nil); code != http.StatusForbidden {
		t.Fatalf("a code spent before the backup, after the restore: %d, want 403", code)
	}
	withFreshCode(t, seeds[0], func(code string) bool {
		return c.call("POST", "/.mfa/api/verify", map[string]string{"code": code}, nil) == http.StatusOK
	})
	var app string
	if code := c.call("GET", "/", nil, &app); code != http.StatusOK || app != "app" {
		t.Fatalf("the app after a factor on the restored node: %d %q", code, app)
	}
	var minted struct {
		Token string `json:"session_token"`
	}
	withFreshCode(t, seeds[1], func(code string) bool {
		return newAPIClient(t, b.url).call("POST", "/.mfa/api/session-token",
			map[string]string{"serial": serials[1], "code": code}, &minted, accessKey...) == http.StatusOK
	})
	if code := newAPIClient(t, b.url).call("GET", "/", nil, &app, "Authorization", "Bearer "+minted.Token); code != http.StatusOK {
		t.Fatalf("the app with a token minted after the restore: %d", code)
	}
	var who struct{ User string }
	if code := newAPIClient(t, b.url).call("GET", "/.mfa/api/whoami", nil, &who, "Authorization", "Bearer "+before); code != http.StatusOK || who.User != "demo" {
		t.Fatalf("a token minted before the backup, after the restore: %d %+v", code, who)
	}
}

// withFreshCode offers pass the code of seed's current step, then of the next; each code works
// once and the server's clock is the real one, so when both are spent it waits for the next step.
func withFreshCode(t *testing.T, seed string, pass func(code string) bool) {
	t.Helper()
	for range 3 {
		now := time.Now()
		for _, ahead := range []time.Duration{0, 30 * time.Second} {
			if pass(oathtool(t, seed, now.Add(ahead))) {
				return
			}
		}
		time.Sleep(time.Until(now.Truncate(30 * time.Second).Add(30 * time.Second))) // the next step
	}
	t.Fatal("no fresh code of the seed was accepted after the restore")
}

// startBackupNode runs a node on machine's Caddyfile, with Caddy's file storage under machine and
// generated keys in machine's config directory (XDG_CONFIG_HOME, as startNode sets it).
func startBackupNode(t *testing.T, machine string) *node {
	site, admin := freePort(t), freePort(t)
	return startNode(t, fileStorageCaddyfile(machine, site, admin), machine, site, admin)
}

// restore writes the backup and a Caddyfile on machine and runs the documented import there.
func restore(t *testing.T, machine string, backup []byte) {
	cfg := fileStorageCaddyfile(machine, freePort(t), freePort(t))
	if err := os.WriteFile(filepath.Join(machine, "Caddyfile"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(machine, "mfa-backup.tar"), backup, 0o600); err != nil {
		t.Fatal(err)
	}
	runCaddy(t, machine, "storage", "import", "--config", "Caddyfile", "--input", "mfa-backup.tar")
}

// copyKeyFiles copies the generated key files the docs name, from Caddy's config directory.
func copyKeyFiles(t *testing.T, from, to string) {
	for _, name := range []string{"encryption.key", "signing.key"} {
		raw, err := os.ReadFile(filepath.Join(keyFileDir(from), name))
		if err != nil {
			t.Fatalf("the generated key file the docs name: %v", err)
		}
		if err := os.MkdirAll(keyFileDir(to), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(keyFileDir(to), name), raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// keyFileDir is mfa/ in Caddy's config directory of a machine (caddy.AppConfigDir under XDG_CONFIG_HOME).
func keyFileDir(machine string) string { return filepath.Join(machine, "config", "caddy", "mfa") }

// checkBackupHoldsNoSecret fails if the export holds a secret, or a key file's value, in clear.
func checkBackupHoldsNoSecret(t *testing.T, machine string, backup []byte, secrets ...string) {
	if !bytes.Contains(backup, []byte("mfa/")) {
		t.Fatalf("the export holds no mfa/ record (%d bytes)", len(backup))
	}
	for _, name := range []string{"encryption.key", "signing.key"} {
		raw, err := os.ReadFile(filepath.Join(keyFileDir(machine), name))
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, strings.TrimSpace(string(raw)))
	}
	for i, s := range secrets {
		if bytes.Contains(bytes.ToUpper(backup), bytes.ToUpper([]byte(s))) {
			t.Errorf("the export holds secret %d of %d in clear", i+1, len(secrets))
		}
	}
}

// runCaddy runs a caddy command in machine's folder, as the user whose directories machine holds.
func runCaddy(t *testing.T, machine string, args ...string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = machine
	cmd.Env = machineEnv(machine)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("caddy %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func machineEnv(machine string) []string {
	return append(os.Environ(), "XDG_DATA_HOME="+filepath.Join(machine, "data"), "XDG_CONFIG_HOME="+filepath.Join(machine, "config"))
}

// refusesToStart runs machine's Caddyfile and wants it to exit at once, saying why.
func refusesToStart(t *testing.T, machine string, why ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a start that hangs fails
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "run", "--config", "Caddyfile", "--adapter", "caddyfile")
	cmd.Dir, cmd.Env = machine, machineEnv(machine)
	out, err := cmd.CombinedOutput()
	for _, w := range why {
		if err == nil || ctx.Err() != nil || !strings.Contains(string(out), w) {
			t.Fatalf("the backup with other keys: %v, want a refusal saying %q:\n%s", err, w, out)
		}
	}
}
