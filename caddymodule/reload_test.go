package caddymodule

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-mfa/caddy-mfa/auth"
)

// freezeStateClock stops the long-lived state's clock for the test: buckets refill only when
// the test says so, however slow the machine.
func freezeStateClock(t *testing.T) {
	frozen := time.Now()
	f := func() time.Time { return frozen }
	stateClock.Store(&f)
	t.Cleanup(func() { stateClock.Store(nil) })
}

// proxiedConfig trusts X-Forwarded-For from localhost, so a test can speak from many addresses.
func proxiedConfig(issuer string, signingKeys ...string) string {
	keys := ""
	if len(signingKeys) > 0 {
		keys = "signing_keys " + strings.Join(signingKeys, " ")
	}
	return fmt.Sprintf(`{
	admin {$MFA_TEST_ADMIN}
	http_port %d
	storage file_system %s
	servers {
		trusted_proxies static 127.0.0.1/32 ::1/128
		client_ip_headers X-Forwarded-For
	}
	mfa {
		issuer %q
		%s
		user alice $2a$04$yDkr1gRCtNQojfOxyVfbx.uKfwuhdsC.MfBohx1nJLI5Gn91mCrgS
	}
}
http://localhost:%d {
	mfa
	respond "ok"
}
`, integrationPort, dataDir, issuer, keys, integrationPort)
}

// running is the services of the mfa app of the config Caddy runs now.
func running(t *testing.T) *auth.Service {
	t.Helper()
	app, err := caddy.ActiveContext().App("mfa")
	if err != nil {
		t.Fatal(err)
	}
	return app.(*App).Operations()
}

func loginFrom(b *browser, name, addr string) (int, string) {
	code, h, _ := b.do("POST", "/.mfa/api/login", fmt.Sprintf(`{"username":%q,"password":"a guess"}`, name), "X-Forwarded-For", addr)
	return code, h.Get("Retry-After")
}

// TestThrottlesSurviveAReload drains one address's allowance and one account's (from many
// addresses at once), reloads the config, and finds both still drained.
func TestThrottlesSurviveAReload(t *testing.T) {
	freezeStateClock(t)
	startCaddy(t, proxiedConfig("before reload"))
	before := running(t)
	b := newBrowser(t)
	const attacker = "198.51.100.7"
	for i := range addressBurst {
		if code, _ := loginFrom(b, fmt.Sprintf("stuffed-%d", i), attacker); code != http.StatusUnauthorized {
			t.Fatalf("guess %d from one address: %d", i+1, code)
		}
	}
	if code, wait := loginFrom(b, "stuffed-more", attacker); code != http.StatusTooManyRequests || wait != "2" {
		t.Fatalf("one guess more from that address: %d %q", code, wait)
	}
	var wg sync.WaitGroup
	for i := range accountBurst {
		wg.Go(func() {
			if code, _ := loginFrom(newBrowser(t), "victim", fmt.Sprintf("203.0.113.%d", i+1)); code != http.StatusUnauthorized {
				t.Errorf("guess %d at victim: %d", i+1, code)
			}
		})
	}
	wg.Wait()
	if code, wait := loginFrom(b, "victim", "203.0.113.200"); code != http.StatusTooManyRequests || wait != "15" {
		t.Fatalf("one guess more at victim, from a fresh address: %d %q", code, wait)
	}

	startCaddy(t, proxiedConfig("after reload"))
	after := running(t)
	if after == before || after.Issuer != "after reload" {
		t.Fatal("the config was not reloaded")
	}
	addresses, accounts := after.Throttles()
	if a0, c0 := before.Throttles(); addresses != a0 || accounts != c0 {
		t.Error("the reload made new throttles")
	}
	if code, _ := loginFrom(b, "stuffed-after", attacker); code != http.StatusTooManyRequests {
		t.Errorf("the drained address after the reload: %d", code)
	}
	if code, _ := loginFrom(b, "victim", "203.0.113.201"); code != http.StatusTooManyRequests {
		t.Errorf("the drained account after the reload: %d", code)
	}
	if code, _ := loginFrom(b, "someone-else", "198.51.100.8"); code != http.StatusUnauthorized {
		t.Errorf("another address and account after the reload: %d", code)
	}
}

func pooledKeys() []string {
	var keys []string
	longLived.Range(func(k, _ any) bool {
		keys = append(keys, k.(string))
		return true
	})
	return keys
}

// TestLongLivedStateIsReleased: once no running config has the mfa app, its state is gone.
func TestLongLivedStateIsReleased(t *testing.T) {
	startCaddy(t, proxiedConfig("pooled"))
	if keys := pooledKeys(); len(keys) != 2 {
		t.Fatalf("pooled while the mfa app runs: %v, want the throttles and one token cache", keys)
	}
	startCaddy(t, fmt.Sprintf("{\n\tadmin {$MFA_TEST_ADMIN}\n\thttp_port %d\n}\nhttp://localhost:%d {\n\trespond \"plain\"\n}\n", integrationPort, integrationPort))
	if keys := pooledKeys(); len(keys) != 0 {
		t.Fatalf("still pooled after the mfa app stopped: %v", keys)
	}
}

func randomKey(t *testing.T) string {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(k)
}

// TestTokenCacheFollowsTheSigningKeys: a reload with the same keys keeps the verified tokens;
// a reload that drops the key a token was signed with refuses the token, cached or not.
func TestTokenCacheFollowsTheSigningKeys(t *testing.T) {
	k1, k2 := randomKey(t), randomKey(t)
	startCaddy(t, proxiedConfig("keys one", k1))
	if code, body := adminRequest(t, "POST", "/mfa/users", `{"name":"token-user","password":"token-user-password"}`); code != http.StatusCreated {
		t.Fatalf("user: %d %s", code, body)
	}
	code, body := adminRequest(t, "POST", "/mfa/users/token-user/access-keys", "")
	if code != http.StatusCreated {
		t.Fatalf("access key: %d %s", code, body)
	}
	id, secret := field(t, body, "access_key_id"), field(t, body, "secret_access_key")
	b := newBrowser(t)
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
	code, _, body = b.do("POST", "/.mfa/api/session-token", `{}`, "Authorization", basic)
	if code != http.StatusOK {
		t.Fatalf("session token: %d %s", code, body)
	}
	bearer := "Bearer " + field(t, body, "session_token")
	whoami := func() int { code, _, _ := b.do("GET", "/.mfa/api/whoami", "", "Authorization", bearer); return code }
	if code := whoami(); code != http.StatusOK {
		t.Fatalf("the token: %d", code)
	}
	cache := running(t).TokenCache

	startCaddy(t, proxiedConfig("keys one again", k1))
	if running(t).TokenCache != cache {
		t.Error("a reload with the same keys made a new token cache")
	}
	if code := whoami(); code != http.StatusOK {
		t.Fatalf("the token after a reload with the same keys: %d", code)
	}
	startCaddy(t, proxiedConfig("keys two", k2))
	if running(t).TokenCache == cache {
		t.Error("other signing keys kept the old token cache")
	}
	if code := whoami(); code != http.StatusUnauthorized {
		t.Fatalf("a token signed with a key no longer configured: %d", code)
	}
}
