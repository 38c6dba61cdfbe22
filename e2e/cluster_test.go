package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startRedis runs a redis-server of this test's own, which the test may stop to play an outage.
func startRedis(t *testing.T) (url string, stop func()) {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server is not installed (make test installs it: apt-get install redis-server)")
	}
	port := freePort(t)
	cmd := exec.Command(path, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop = func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(10 * time.Second)
	for exec.Command("redis-cli", "-p", fmt.Sprint(port), "ping").Run() != nil {
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not start")
		}
		time.Sleep(50 * time.Millisecond) // a starting process: no clock to fake
	}
	return fmt.Sprintf("redis://127.0.0.1:%d/0", port), stop
}

func randomKey(t *testing.T) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// startClusterNode runs one Caddy node on the shared Redis, with the cluster's keys.
func startClusterNode(t *testing.T, redisURL, encKey, signKey string) *node {
	t.Helper()
	site, admin := freePort(t), freePort(t)
	dataDir := t.TempDir()
	cfg := fmt.Sprintf(`{
	admin localhost:%d
	storage file_system %s
	mfa {
		storage redis %s
		encryption_key %s
		signing_keys %s
		lockout {
			max_failures 4
		}
		user demo $2a$04$yDkr1gRCtNQojfOxyVfbx.uKfwuhdsC.MfBohx1nJLI5Gn91mCrgS
		user demo2 $2a$04$yDkr1gRCtNQojfOxyVfbx.uKfwuhdsC.MfBohx1nJLI5Gn91mCrgS
	}
}
http://localhost:%d {
	bind 127.0.0.1
	mfa
	respond "app for {http.auth.user.id}"
}
`, admin, filepath.Join(dataDir, "storage"), redisURL, encKey, signKey, site)
	return startNode(t, cfg, dataDir, site, admin)
}

// TestTwoNodesOneRedis: two Caddy nodes share one Redis and act as one gateway.
func TestTwoNodesOneRedis(t *testing.T) {
	redisURL, stopRedis := startRedis(t)
	encKey, signKey := randomKey(t), randomKey(t)
	a := startClusterNode(t, redisURL, encKey, signKey)
	b := startClusterNode(t, redisURL, encKey, signKey)
	now := time.Now()

	// Enrol on A, sign in on B; A's next code, spent on B, is refused on A.
	_, secret := a.signIn(t, "demo").enrol(t, "phone", now)
	onB := b.signIn(t, "demo")
	next := oathtool(t, secret, now.Add(30*time.Second))
	if code := onB.call("POST", "/.mfa/api/verify", map[string]string{"code": next}, nil); code != http.StatusOK {
		t.Fatalf("verify on B: %d", code)
	}
	if code := a.signIn(t, "demo").call("POST", "/.mfa/api/verify", map[string]string{"code": next}, nil); code != http.StatusForbidden {
		t.Fatalf("the code B accepted, replayed on A: %d", code)
	}

	bc, token := tokenFromAWorksOnB(t, a, b, now)
	revocationOnAReachesB(t, a, onB)

	// Failures on A and B add up to max_failures (4): the code replayed on A was the first.
	fa, fb := a.signIn(t, "demo"), b.signIn(t, "demo")
	for _, c := range []*apiClient{fb, fa, fb} {
		if code := c.call("POST", "/.mfa/api/verify", map[string]string{"code": "000000"}, nil); code != http.StatusForbidden {
			t.Fatalf("a wrong code: %d", code)
		}
	}
	if code := fa.call("POST", "/.mfa/api/verify", map[string]string{"code": oathtool(t, secret, time.Now().Add(60*time.Second))}, nil); code != http.StatusTooManyRequests {
		t.Fatalf("a right code after 4 failures across the nodes: %d", code)
	}

	// Redis goes down: factor checks fail closed with 503; issued tokens keep working.
	waiting := b.signIn(t, "demo2")
	stopRedis()
	var failure struct {
		Error struct{ Code string } `json:"error"`
	}
	if code := waiting.call("POST", "/.mfa/api/verify", map[string]string{"code": "123456"}, &failure); code != http.StatusServiceUnavailable || failure.Error.Code != "ServiceFailure" {
		t.Fatalf("a factor check during the outage: %d %+v", code, failure)
	}
	var page string
	if code := bc.call("GET", "/", nil, &page, "Authorization", "Bearer "+token); code != http.StatusOK {
		t.Fatalf("an issued token during the outage: %d", code)
	}
}

// tokenFromAWorksOnB enrols demo2 on A, mints an MFA session token there with the caddy CLI, and
// checks that B accepts it; it returns a client of B and the token, for the outage to come.
func tokenFromAWorksOnB(t *testing.T, a, b *node, now time.Time) (bc *apiClient, token string) {
	t.Helper()
	// A token minted on A works on B.
	serial2, secret2 := a.signIn(t, "demo2").enrol(t, "phone", now)
	out := a.caddyCLI(t, nil, "access-key", "create", "--user", "demo2", "--address="+strings.TrimPrefix(a.admin, "http://"))
	keyEnv := []string{"MFA_ACCESS_KEY_ID=" + jsonField(t, out, "access_key_id"), "MFA_SECRET_ACCESS_KEY=" + jsonField(t, out, "secret_access_key")}
	out = a.caddyCLI(t, keyEnv, "get-session-token", "--url", a.url, "--serial", serial2, "--code", oathtool(t, secret2, now.Add(30*time.Second)))
	token = strings.TrimPrefix(strings.Split(out, "\n")[0], "export MFA_SESSION_TOKEN=")
	var page string
	bc = newAPIClient(t, b.url)
	if code := bc.call("GET", "/", nil, &page, "Authorization", "Bearer "+token); code != http.StatusOK || page != "app for demo2" {
		t.Fatalf("A's token on B: %d %q", code, page)
	}
	return bc, token
}

// revocationOnAReachesB revokes demo's sessions on A and checks that B, where onB is signed in,
// refuses the session within 5 s.
func revocationOnAReachesB(t *testing.T, a *node, onB *apiClient) {
	t.Helper()
	// Revoke on A: B refuses demo's session within 5 s.
	if code := onB.call("GET", "/", nil, nil); code != http.StatusOK {
		t.Fatalf("demo on B before the revocation: %d", code)
	}
	a.caddyCLI(t, nil, "revoke-sessions", "--user", "demo", "--address="+strings.TrimPrefix(a.admin, "http://"))
	revokedAt := time.Now()
	for onB.call("GET", "/", nil, nil) == http.StatusOK {
		if time.Since(revokedAt) > 5*time.Second {
			t.Fatal("B still accepts the revoked session after 5 s")
		}
		time.Sleep(100 * time.Millisecond) // another node's poll: real time passes there
	}
	t.Logf("B refused the revoked session %v after the revocation", time.Since(revokedAt).Round(10*time.Millisecond))
}

// TestRedisNeedsSharedKeys: with storage redis, a node without configured keys refuses to start
// (generated keys would differ per node), and an unreachable Redis is a clear error.
func TestRedisNeedsSharedKeys(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ cfg, want string }{
		{"{\n\tmfa {\n\t\tstorage redis redis://127.0.0.1:1\n\t}\n}\n:0 {\n\tmfa\n}\n", "needs encryption_key and signing_keys"},
		{fmt.Sprintf("{\n\tmfa {\n\t\tstorage redis redis://127.0.0.1:1\n\t\tencryption_key %s\n\t\tsigning_keys %s\n\t}\n}\n:0 {\n\tmfa\n}\n", randomKey(t), randomKey(t)), "does not answer"},
	} {
		file := filepath.Join(dir, "Caddyfile")
		if err := os.WriteFile(file, []byte(c.cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(binary, "validate", "--config", file, "--adapter", "caddyfile")
		cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), c.want) {
			t.Errorf("caddy validate: %v, want an error saying %q:\n%s", err, c.want, out)
		}
	}
}
