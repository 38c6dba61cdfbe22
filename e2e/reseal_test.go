package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/identity"
	"github.com/caddy-mfa/caddy-mfa/store"
	"github.com/caddy-mfa/caddy-mfa/store/caddystore"
	"github.com/caddy-mfa/caddy-mfa/store/redisstore"
)

// TestResealKilledMidWay rotates the encryption key of a file store and of a Redis store:
// records sealed under the old key, the node started with the new key first, `caddy mfa reseal`
// run and the node killed with SIGKILL in the middle of it. Every record must still open with
// the two keys; a second run finishes; then every record opens with the new key alone, and a
// node starts with it alone.
func TestResealKilledMidWay(t *testing.T) {
	t.Run("file", func(t *testing.T) {
		dataDir := t.TempDir()
		st := caddystore.New(&certmagic.FileStorage{Path: filepath.Join(dataDir, "storage")}, "mfa")
		resealKilledMidWay(t, st, 200, func(keys string) *node { return startKeyedNode(t, dataDir, "", keys) })
	})
	t.Run("redis", func(t *testing.T) {
		url, _ := startRedis(t)
		st, err := redisstore.Open(context.Background(), url, "mfa")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		dataDir := t.TempDir()
		resealKilledMidWay(t, st, 2000, func(keys string) *node { return startKeyedNode(t, dataDir, url, keys) })
	})
}

func resealKilledMidWay(t *testing.T, st store.Store, records int, start func(keys string) *node) {
	oldKey, newKey := randomKey(t), randomKey(t)
	oldSealer, bothSealer, newSealer := sealerOf(t, oldKey), sealerOf(t, newKey, oldKey), sealerOf(t, newKey)
	codes := seedSealedRecords(t, st, oldSealer, records)

	n := start(newKey + " " + oldKey)
	cli := exec.Command(binary, "mfa", "reseal", "--address", strings.TrimPrefix(n.admin, "http://"))
	if err := cli.Start(); err != nil {
		t.Fatal(err)
	}
	waitForSomeResealed(t, st, newSealer, records)
	_ = n.cmd.Process.Kill() // SIGKILL, in the middle of the run
	_ = n.cmd.Wait()
	_ = cli.Wait()
	moved := countSealed(t, st, bothSealer, newSealer)
	if moved == 0 || moved == records+1 {
		t.Fatalf("the kill should land mid-way: %d of %d records under the new key", moved, records+1)
	}
	t.Logf("killed with %d of %d records resealed", moved, records+1)

	n = start(newKey + " " + oldKey)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // a hang fails, not waits
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, "mfa", "reseal", "--address", strings.TrimPrefix(n.admin, "http://")).CombinedOutput()
	if err != nil {
		t.Fatalf("second reseal: %v\n%s", err, out)
	}
	var rep struct {
		Resealed       int  `json:"resealed"`
		AlreadyCurrent int  `json:"already_current"`
		Complete       bool `json:"complete"`
	}
	err = json.Unmarshal(out[:strings.LastIndexByte(string(out), '}')+1], &rep)
	if err != nil || !rep.Complete || rep.Resealed+rep.AlreadyCurrent != records || rep.Resealed == 0 || rep.AlreadyCurrent == 0 {
		t.Fatalf("second reseal: %s (%v)", out, err)
	}
	n.stop()
	if got := countSealed(t, st, newSealer, newSealer); got != records+1 {
		t.Fatalf("after the second run %d of %d records open with the new key alone", got, records+1)
	}
	user := fmt.Sprint("u", rand.IntN(records))
	if err := factors.NewRecoveryCodes(st, newSealer, time.Now).Use(context.Background(), user, codes[user]); err != nil {
		t.Fatalf("%s's recovery code after the rotation: %v", user, err)
	}
	start(newKey).stop() // the key check opens with the new key alone
}

// seedSealedRecords writes records sealed under the old key through the packages that own
// them: recovery codes for every user, and the key check. It returns one code of each user.
func seedSealedRecords(t *testing.T, st store.Store, sealer *store.Sealer, users int) map[string]string {
	ctx := context.Background()
	if err := store.CheckKey(ctx, withoutLocks{st}, sealer); err != nil {
		t.Fatal(err)
	}
	rc := factors.NewRecoveryCodes(withoutLocks{st}, sealer, time.Now)
	codes := make(map[string]string, users)
	for i := range users {
		u := fmt.Sprint("u", i)
		c, err := rc.Generate(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		codes[u] = c[0]
	}
	return codes
}

// withoutLocks updates records with no storage lock: for seeding, before any node runs. Caddy's
// file storage keeps each lock file fresh from a goroutine of the process that took it, for a few
// seconds after it is released, and that goroutine would keep refreshing a lock file of the
// same name that the node creates next: killed while holding it, the node would leave a lock
// that never goes stale while this test runs.
type withoutLocks struct{ store.Store }

func (s withoutLocks) Update(ctx context.Context, key string, fn func(old []byte) ([]byte, error)) error {
	return store.Apply(ctx, s.Store, key, fn)
}

// waitForSomeResealed watches a sample of records until one is under the new key.
func waitForSomeResealed(t *testing.T, st store.Store, newSealer *store.Sealer, users int) {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		for range 20 {
			k := store.Key("recovery", fmt.Sprint("u", rand.IntN(users)))
			if rec, err := store.GetJSON[struct {
				Salt []byte `json:"sealed_salt"`
			}](context.Background(), st, k); err == nil && newSealer.SealedWithFirst(rec.Salt) {
				return
			}
		}
		time.Sleep(5 * time.Millisecond) // watching another process: no clock to fake
	}
	t.Fatal("no record was resealed within a minute")
}

// countSealed opens every sealed record with opener (failing the test if one does not open) and
// counts those that first names as its first key, the key check included.
func countSealed(t *testing.T, st store.Store, opener, first *store.Sealer) int {
	ctx := context.Background()
	n := 0
	for _, f := range slices.Concat(factors.SealedRecords, identity.SealedRecords) {
		keys, err := st.List(ctx, f.Prefix)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if !strings.HasPrefix(path.Base(k), "u") {
				// Not a record the test seeded: Caddy's file storage writes each record through a
				// temporary file of a numeric name in the same folder, which a listing taken
				// while the node writes may show.
				continue
			}
			var rec map[string]json.RawMessage
			raw, err := st.Get(ctx, k)
			var sealed []byte
			if err == nil {
				err = json.Unmarshal(raw, &rec)
			}
			if err == nil {
				err = json.Unmarshal(rec[f.Field], &sealed)
			}
			if _, oerr := opener.Open(sealed, []byte(k)); err != nil || oerr != nil {
				t.Fatalf("%s does not open: %v, %v", k, err, oerr)
			}
			if first.SealedWithFirst(sealed) {
				n++
			}
		}
	}
	if err := store.VerifyKey(ctx, st, opener); err != nil {
		t.Fatal(err)
	}
	if check, err := st.Get(ctx, "keycheck"); err == nil && first.SealedWithFirst(check) {
		n++
	}
	return n
}

func sealerOf(t *testing.T, keys ...string) *store.Sealer {
	var raw [][]byte
	for _, k := range keys {
		b, _ := base64.StdEncoding.DecodeString(k)
		raw = append(raw, b)
	}
	s, err := store.NewSealer(raw...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// startKeyedNode runs a node on dataDir's file storage, or on Redis when redisURL is set, with
// encryption_key keys.
func startKeyedNode(t *testing.T, dataDir, redisURL, keys string) *node {
	site, admin := freePort(t), freePort(t)
	storage := ""
	if redisURL != "" {
		storage = "storage redis " + redisURL + "\n\t\tsigning_keys " + randomKey(t)
	}
	cfg := fmt.Sprintf(`{
	admin localhost:%d
	storage file_system %s
	mfa {
		%s
		encryption_key %s
	}
}
http://localhost:%d {
	bind 127.0.0.1
	mfa
	respond "app"
}
`, admin, filepath.Join(dataDir, "storage"), storage, keys, site)
	return startNode(t, cfg, dataDir, site, admin)
}
