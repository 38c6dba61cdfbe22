package gateway

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"testing"
	"time"
)

func TestThrottleBucket(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	th := NewThrottle(3, 10*time.Second, c.now)
	a := netip.MustParseAddr("192.0.2.1")
	for i := range 3 {
		if ok, _ := th.Allow(a); !ok {
			t.Fatalf("attempt %d of a burst of 3 refused", i+1)
		}
	}
	if ok, wait := th.Allow(a); ok || wait != 10*time.Second {
		t.Fatalf("the 4th attempt: ok=%v wait=%v", ok, wait)
	}
	if ok, _ := th.Allow(netip.MustParseAddr("192.0.2.2")); !ok {
		t.Fatal("another address was throttled with the first")
	}
	c.advance(10 * time.Second)
	if ok, _ := th.Allow(a); !ok {
		t.Fatal("no attempt came back after the refill time")
	}
	// One IPv6 client owns its /64: rotating the low bits does not buy attempts.
	v6 := NewThrottle(1, time.Hour, c.now)
	v6.Allow(netip.MustParseAddr("2001:db8::1"))
	if ok, _ := v6.Allow(netip.MustParseAddr("2001:db8::ffff")); ok {
		t.Fatal("a second address in the same /64 got its own bucket")
	}
}

// TestThrottleMemoryIsBounded floods the throttle with a million distinct addresses.
func TestThrottleMemoryIsBounded(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	th := NewThrottle(5, time.Second, c.now)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var b [4]byte
	for i := range 1_000_000 {
		binary.BigEndian.PutUint32(b[:], uint32(i)+0x0a000000)
		th.Allow(netip.AddrFrom4(b))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("a million distinct addresses: %d remembered, heap grew %.1f MiB", th.Len(), float64(grown)/(1<<20))
	if th.Len() != ThrottleAddresses {
		t.Fatalf("remembered %d addresses, want the cap %d", th.Len(), ThrottleAddresses)
	}
	if grown > 40<<20 {
		t.Fatalf("heap grew %d bytes for a bounded cache", grown)
	}
}

func TestSignInIsThrottledPerAddress(t *testing.T) {
	e := newEnv(t, func(_ *Options, s *Services) { s.Throttle = NewThrottle(5, time.Minute, s.Now) })
	for i := range 5 {
		if r := e.client().login("nobody", "guess"); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, r.StatusCode)
		}
	}
	r := e.client().login("alice", testPassword)
	if r.StatusCode != http.StatusTooManyRequests || r.errorCode() != CodeThrottled || r.Header.Get("Retry-After") != "60" {
		t.Fatalf("the 6th attempt from one address: %d %s %q", r.StatusCode, r.body, r.Header.Get("Retry-After"))
	}
	e.clock.advance(time.Minute)
	if r := e.client().login("alice", testPassword); r.StatusCode != http.StatusOK {
		t.Fatalf("after a minute: %d", r.StatusCode)
	}
}

// TestBogusTokenFloodIsBounded: made-up Bearer tokens and unknown access keys leave nothing
// behind (only verified credentials are cached), so a flood costs no memory that stays.
func TestBogusTokenFloodIsBounded(t *testing.T) {
	e := newEnv(t)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const n = 100_000
	var b [16]byte
	r := httptest.NewRequest("GET", "/app", nil)
	w := httptest.NewRecorder()
	for i := range n {
		binary.BigEndian.PutUint64(b[:], uint64(i))
		r.Header.Set("Authorization", "Bearer AQ"+hex.EncodeToString(b[:])+"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
		if _, ok := e.gate.Check(w, r); ok {
			t.Fatal("a made-up token passed")
		}
		if i%1000 == 0 {
			w = httptest.NewRecorder()
		}
		id := fmt.Sprintf("MKIA%016X", i)[:20]
		r.SetBasicAuth(id, "secret-secret-secret-secret-secret-secre")
		if _, ok := e.gate.Check(w, r); ok {
			t.Fatal("a made-up access key passed")
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d made-up tokens and %d made-up access keys: heap grew %.1f MiB", n, n, float64(grown)/(1<<20))
	if grown > 8<<20 {
		t.Fatalf("heap grew %d bytes for credentials that verified nothing", grown)
	}
}
