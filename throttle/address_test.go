package throttle

import (
	"encoding/binary"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"
)

// clock is the fake time the throttle tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestThrottleBucket(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	th := NewPerAddress(3, 10*time.Second, c.now)
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
	v6 := NewPerAddress(1, time.Hour, c.now)
	v6.Allow(netip.MustParseAddr("2001:db8::1"))
	if ok, _ := v6.Allow(netip.MustParseAddr("2001:db8::ffff")); ok {
		t.Fatal("a second address in the same /64 got its own bucket")
	}
}

// TestThrottleMemoryIsBounded floods the throttle with a million distinct addresses.
func TestThrottleMemoryIsBounded(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	th := NewPerAddress(5, time.Second, c.now)
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
	if th.Len() != AddressCapacity {
		t.Fatalf("remembered %d addresses, want the cap %d", th.Len(), AddressCapacity)
	}
	if grown > 40<<20 {
		t.Fatalf("heap grew %d bytes for a bounded cache", grown)
	}
}
