package throttle

import (
	"encoding/binary"
	"net/netip"
	"runtime"
	"testing"
	"time"
)

func TestAccountThrottleBucket(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	th := NewPerAccount(3, 10*time.Second, c.now)
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
	v6 := NewPerAccount(1, time.Hour, c.now)
	a, _ = v6.Take("carol", netip.MustParseAddr("2001:db8::1"))
	a.Succeeded()
	v6.Take("carol", netip.MustParseAddr("2001:db8:1::1"))
	if a, _ := v6.Take("carol", netip.MustParseAddr("2001:db8::ffff")); a == nil {
		t.Fatal("another address of the known /64 was refused")
	}
}

// TestAccountThrottleMemoryIsBounded floods the throttle with distinct (and long) names.
func TestAccountThrottleMemoryIsBounded(t *testing.T) {
	c := &clock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	th := NewPerAccount(5, time.Second, c.now)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	long := make([]byte, 256)
	addr := netip.MustParseAddr("198.51.100.1")
	for i := range 3 * AccountCapacity {
		binary.BigEndian.PutUint64(long, uint64(i))
		if a, _ := th.Take(string(long), addr); a != nil {
			a.Succeeded()
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	accounts, known := th.Len()
	t.Logf("%d distinct 256-byte names: %d accounts and %d known addresses remembered, heap grew %.1f MiB", 3*AccountCapacity, accounts, known, float64(grown)/(1<<20))
	if accounts != AccountCapacity || known != AccountCapacity {
		t.Fatalf("remembered %d accounts and %d known addresses, want the cap %d", accounts, known, AccountCapacity)
	}
	if grown > 40<<20 {
		t.Fatalf("heap grew %d bytes for a bounded throttle", grown)
	}
}
