package site_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/gate"
	"github.com/caddy-mfa/caddy-mfa/throttle"
)

// TestCredentialStuffingFromManyAddresses: 200 wrong passwords for one account, sent at once
// from 200 addresses, are refused after the account's burst, for a real account and a made-up
// one alike; the user still signs in from an address known to her account, and at once again
// after one refill anywhere.
func TestCredentialStuffingFromManyAddresses(t *testing.T) {
	e := newEnv(t, func(o *gate.Options, _ *auth.Config, d *auth.Deps) {
		d.Throttle = throttle.NewPerAddress(30, 2*time.Second, d.Now)
		d.Accounts = throttle.NewPerAccount(10, 15*time.Second, d.Now)
		o.ClientIP = func(r *http.Request) netip.Addr { return netip.MustParseAddr(r.Header.Get("X-Test-Addr")) }
	})
	const home = "192.0.2.77"
	if r := e.Client().Do("POST", "/.mfa/api/login", map[string]string{"username": "alice", "password": testPassword}, "X-Test-Addr", home); r.StatusCode != http.StatusOK {
		t.Fatalf("alice at home before the attack: %d %s", r.StatusCode, r.Body)
	}
	for _, name := range []string{"alice", "nobody"} {
		before := e.Events("login_failed")
		checked, throttled := storm(e, name, 200)
		if checked != 10 || throttled != 190 {
			t.Errorf("%s: %d passwords checked and %d throttled, want 10 and 190", name, checked, throttled)
		}
		if got := e.Events("login_failed") - before; got != 10 {
			t.Errorf("%s: %d passwords were checked, want 10", name, got)
		}
	}
	r := e.Client().Do("POST", "/.mfa/api/login", map[string]string{"username": "alice", "password": testPassword}, "X-Test-Addr", "203.0.113.1")
	if r.StatusCode != http.StatusTooManyRequests || r.ErrorCode() != auth.CodeThrottled || r.Header.Get("Retry-After") != "15" {
		t.Fatalf("alice from a new address during the attack: %d %q %s", r.StatusCode, r.Header.Get("Retry-After"), r.Body)
	}
	if r := e.Client().Do("POST", "/.mfa/api/login", map[string]string{"username": "alice", "password": testPassword}, "X-Test-Addr", home); r.StatusCode != http.StatusOK {
		t.Fatalf("alice at home during the attack: %d %s", r.StatusCode, r.Body)
	}
	e.Clock.Advance(15 * time.Second)
	if r := e.Client().Do("POST", "/.mfa/login", url.Values{"username": {"alice"}, "password": {testPassword}}, "X-Test-Addr", "203.0.113.1"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("alice from a new address one refill later (the page): %d", r.StatusCode)
	}
}

// storm sends n wrong passwords for name at once, each from its own address.
func storm(e *env, name string, n int) (checked, throttled int) {
	var wg sync.WaitGroup
	var bad, slow atomic.Int32
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			c := e.Client()
			addr := netip.AddrFrom4([4]byte{10, byte(len(name)), byte(i >> 8), byte(i)}).String()
			<-start
			r := c.Do("POST", "/.mfa/api/login", map[string]string{"username": name, "password": fmt.Sprint("guess-", i)}, "X-Test-Addr", addr)
			switch {
			case r.StatusCode == http.StatusUnauthorized:
				bad.Add(1)
			case r.StatusCode == http.StatusTooManyRequests && r.Header.Get("Retry-After") != "":
				slow.Add(1)
			default:
				e.T.Errorf("attempt from %s: %d %s", addr, r.StatusCode, r.Body)
			}
		})
	}
	close(start)
	wg.Wait()
	return int(bad.Load()), int(slow.Load())
}

// TestOwnSignInsDoNotDrainTheAccount: right passwords give their attempt back, so a user who
// signs in often is never throttled by her own sign-ins, and wrong ones still count.
func TestOwnSignInsDoNotDrainTheAccount(t *testing.T) {
	e := newEnv(t, func(_ *gate.Options, _ *auth.Config, d *auth.Deps) {
		d.Accounts = throttle.NewPerAccount(5, time.Minute, d.Now)
	})
	for i := range 20 {
		if r := e.Client().Login("alice", testPassword); r.StatusCode != http.StatusOK {
			t.Fatalf("sign-in %d: %d", i+1, r.StatusCode)
		}
	}
	// The account's 5, then the 5 of this address, known to the account now.
	for i := range 10 {
		if r := e.Client().Login("alice", "wrong"); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d", i+1, r.StatusCode)
		}
	}
	if r := e.Client().Login("alice", "wrong"); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the 11th wrong password: %d", r.StatusCode)
	}
}
