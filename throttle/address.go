package throttle

import (
	"net/netip"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// PerAddress limits how often one source address may try a password or a factor, whichever user
// it names: the per-user lockout stops guessing one account's codes, this stops one address
// from guessing many accounts' passwords. A token bucket per address, in a bounded LRU, so a
// flood of distinct addresses costs bounded memory (the oldest are forgotten first).
type PerAddress struct {
	mu      sync.Mutex
	buckets *lru.Cache[netip.Addr, *bucket]
	burst   float64
	every   time.Duration // one more attempt per every
	now     func() time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// take refills b for the time since it was last used (up to burst) and takes one attempt, or
// says how long until the next one.
func (b *bucket) take(now time.Time, burst float64, every time.Duration) (bool, time.Duration) {
	b.tokens = min(burst, b.tokens+float64(now.Sub(b.last))/float64(every))
	b.last = now
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) * float64(every))
	}
	b.tokens--
	return true, 0
}

// addressKey is the part of an address one client owns: an IPv6 client owns a whole /64.
func addressKey(addr netip.Addr) netip.Addr {
	if addr.Is6() && !addr.Is4In6() {
		return netip.PrefixFrom(addr, 64).Masked().Addr()
	}
	return addr
}

// AddressCapacity is how many source addresses the throttle remembers: ~100 bytes each.
const AddressCapacity = 100_000

// NewPerAddress allows burst attempts at once per address, then one per every.
func NewPerAddress(burst int, every time.Duration, now func() time.Time) *PerAddress {
	c, _ := lru.New[netip.Addr, *bucket](AddressCapacity)
	return &PerAddress{buckets: c, burst: float64(burst), every: every, now: now}
}

// Allow takes one attempt for addr, or says how long to wait for the next.
func (t *PerAddress) Allow(addr netip.Addr) (bool, time.Duration) {
	if t == nil {
		return true, 0
	}
	addr = addressKey(addr)
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	b, ok := t.buckets.Get(addr)
	if !ok {
		b = &bucket{tokens: t.burst, last: now}
		t.buckets.Add(addr, b)
	}
	return b.take(now, t.burst, t.every)
}

// Len is how many addresses the throttle holds now.
func (t *PerAddress) Len() int { return t.buckets.Len() }
