package gateway

import (
	"encoding/binary"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestAccountThrottleBucket(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	th := NewAccountThrottle(3, 10*time.Second, c.now)
	home := netip.MustParseAddr("192.0.2.1")
	for i := range 3 {
		if a, _ := th.Take("alice", netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})); a == nil {
			t.Fatalf("attempt %d of a burst of 3 refused", i+1)
		}
	}
	if a, wait := th.Take("alice", home); a != nil || wait != 10*time.Second {
		t.Fatalf("the 4th attempt, from yet another address: %v %v", a, wait)
	}
	if a, _ := th.Take("bob", home); a == nil {
		t.Fatal("another account was throttled with the first")
	}
	c.advance(10 * time.Second)
	a, _ := th.Take("alice", home)
	if a == nil {
		t.Fatal("no attempt came back after the refill time")
	}
	// The right password gives the attempt back and makes home a known address of alice's.
	a.Succeeded()
	if a, _ := th.Take("alice", netip.MustParseAddr("203.0.113.9")); a == nil {
		t.Fatal("a successful sign-in did not give its attempt back")
	}
	if a, _ := th.Take("alice", netip.MustParseAddr("203.0.113.9")); a != nil {
		t.Fatal("the account's bucket should be empty")
	}
	for i := range 3 {
		if a, _ := th.Take("alice", home); a == nil {
			t.Fatalf("alice's known address, attempt %d: refused while others drained the account", i+1)
		}
	}
	if a, _ := th.Take("alice", home); a != nil {
		t.Fatal("a known address has a bucket, not a free pass")
	}
	// A known address counts for its own account only.
	for a, _ := th.Take("bob", netip.MustParseAddr("203.0.113.9")); a != nil; a, _ = th.Take("bob", netip.MustParseAddr("203.0.113.9")) {
	}
	if a, _ := th.Take("bob", home); a != nil {
		t.Fatal("alice's known address let bob's attempts past his empty bucket")
	}
	// An IPv6 client is known by its whole /64.
	v6 := NewAccountThrottle(1, time.Hour, c.now)
	a, _ = v6.Take("carol", netip.MustParseAddr("2001:db8::1"))
	a.Succeeded()
	v6.Take("carol", netip.MustParseAddr("2001:db8:1::1"))
	if a, _ := v6.Take("carol", netip.MustParseAddr("2001:db8::ffff")); a == nil {
		t.Fatal("another address of the known /64 was refused")
	}
}

// TestCredentialStuffingFromManyAddresses: 200 wrong passwords for one account, sent at once
// from 200 addresses, are refused after the account's burst, for a real account and a made-up
// one alike; the user still signs in from an address known to her account, and at once again
// after one refill anywhere.
func TestCredentialStuffingFromManyAddresses(t *testing.T) {
	e := newEnv(t, func(o *Options, s *Services) {
		s.Throttle = NewThrottle(30, 2*time.Second, s.Now)
		s.Accounts = NewAccountThrottle(10, 15*time.Second, s.Now)
		o.ClientIP = func(r *http.Request) netip.Addr { return netip.MustParseAddr(r.Header.Get("X-Test-Addr")) }
	})
	const home = "192.0.2.77"
	if r := e.client().do("POST", "/.mfa/api/login", map[string]string{"username": "alice", "password": testPassword}, "X-Test-Addr", home); r.StatusCode != http.StatusOK {
		t.Fatalf("alice at home before the attack: %d %s", r.StatusCode, r.body)
	}
	for _, name := range []string{"alice", "nobody"} {
		before := e.events("login_failed")
		checked, throttled := storm(e, name, 200)
		if checked != 10 || throttled != 190 {
			t.Errorf("%s: %d passwords checked and %d throttled, want 10 and 190", name, checked, throttled)
		}
		if got := e.events("login_failed") - before; got != 10 {
			t.Errorf("%s: %d passwords were checked, want 10", name, got)
		}
	}
	r := e.client().do("POST", "/.mfa/api/login", map[string]string{"username": "alice", "password": testPassword}, "X-Test-Addr", "203.0.113.1")
	if r.StatusCode != http.StatusTooManyRequests || r.errorCode() != CodeThrottled || r.Header.Get("Retry-After") != "15" {
		t.Fatalf("alice from a new address during the attack: %d %q %s", r.StatusCode, r.Header.Get("Retry-After"), r.body)
	}
	if r := e.client().do("POST", "/.mfa/api/login", map[string]string{"username": "alice", "password": testPassword}, "X-Test-Addr", home); r.StatusCode != http.StatusOK {
		t.Fatalf("alice at home during the attack: %d %s", r.StatusCode, r.body)
	}
	e.clock.advance(15 * time.Second)
	if r := e.client().do("POST", "/.mfa/login", url.Values{"username": {"alice"}, "password": {testPassword}}, "X-Test-Addr", "203.0.113.1"); r.StatusCode != http.StatusSeeOther {
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
			c := e.client()
			addr := netip.AddrFrom4([4]byte{10, byte(len(name)), byte(i >> 8), byte(i)}).String()
			<-start
			r := c.do("POST", "/.mfa/api/login", map[string]string{"username": name, "password": fmt.Sprint("guess-", i)}, "X-Test-Addr", addr)
			switch {
			case r.StatusCode == http.StatusUnauthorized:
				bad.Add(1)
			case r.StatusCode == http.StatusTooManyRequests && r.Header.Get("Retry-After") != "":
				slow.Add(1)
			default:
				e.t.Errorf("attempt from %s: %d %s", addr, r.StatusCode, r.body)
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
	e := newEnv(t, func(_ *Options, s *Services) { s.Accounts = NewAccountThrottle(5, time.Minute, s.Now) })
	for i := range 20 {
		if r := e.client().login("alice", testPassword); r.StatusCode != http.StatusOK {
			t.Fatalf("sign-in %d: %d", i+1, r.StatusCode)
		}
	}
	// The account's 5, then the 5 of this address, known to the account now.
	for i := range 10 {
		if r := e.client().login("alice", "wrong"); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d", i+1, r.StatusCode)
		}
	}
	if r := e.client().login("alice", "wrong"); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the 11th wrong password: %d", r.StatusCode)
	}
}

// TestAccountThrottleMemoryIsBounded floods the throttle with distinct (and long) names.
func TestAccountThrottleMemoryIsBounded(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	th := NewAccountThrottle(5, time.Second, c.now)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	long := make([]byte, 256)
	addr := netip.MustParseAddr("198.51.100.1")
	for i := range 3 * ThrottleAccounts {
		binary.BigEndian.PutUint64(long, uint64(i))
		if a, _ := th.Take(string(long), addr); a != nil {
			a.Succeeded()
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	accounts, known := th.Len()
	t.Logf("%d distinct 256-byte names: %d accounts and %d known addresses remembered, heap grew %.1f MiB", 3*ThrottleAccounts, accounts, known, float64(grown)/(1<<20))
	if accounts != ThrottleAccounts || known != ThrottleAccounts {
		t.Fatalf("remembered %d accounts and %d known addresses, want the cap %d", accounts, known, ThrottleAccounts)
	}
	if grown > 40<<20 {
		t.Fatalf("heap grew %d bytes for a bounded throttle", grown)
	}
}
