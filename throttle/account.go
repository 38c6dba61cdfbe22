package throttle

import (
	"crypto/sha256"
	"net/netip"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// PerAccount limits password attempts per account, from whatever addresses they come: the
// per-address PerAddress cannot see credential stuffing spread over many addresses. It must not
// become a way to lock a user out of password sign-in, so:
//   - the bucket is small and refills quickly: a refused attempt waits one refill at most;
//   - a sign-in that succeeds gives its attempt back: the user's own sign-ins cost nothing;
//   - an address the account signed in from before has a bucket of its own for that account,
//     which attackers elsewhere cannot drain.
//
// Every name counts alike, real or not, so a refusal does not tell which accounts exist. Names
// are kept as SHA-256 hashes (bounded size whatever is sent) in bounded LRUs; an evicted bucket
// is a full one again, which a flood of names buys only at the per-address pace.
type PerAccount struct {
	mu       sync.Mutex
	accounts *lru.Cache[accountKey, *bucket]
	known    *lru.Cache[knownAddress, *bucket]
	burst    float64
	every    time.Duration
	now      func() time.Time
}

type accountKey [sha256.Size]byte

// knownAddress is an address (its client's part) that an account signed in from.
type knownAddress struct {
	account accountKey
	addr    netip.Addr
}

// AccountCapacity is how many accounts, and how many known (account, address) pairs, the
// account throttle remembers: ~300 bytes each, so 30 MiB at most.
const AccountCapacity = 50_000

// NewPerAccount allows burst password attempts at once per account, then one per every;
// each known address of the account has the same allowance of its own.
func NewPerAccount(burst int, every time.Duration, now func() time.Time) *PerAccount {
	accounts, _ := lru.New[accountKey, *bucket](AccountCapacity)
	known, _ := lru.New[knownAddress, *bucket](AccountCapacity)
	return &PerAccount{accounts: accounts, known: known, burst: float64(burst), every: every, now: now}
}

// Attempt is one password attempt taken from an account's allowance.
type Attempt struct {
	t      *PerAccount
	bucket *bucket
	known  knownAddress
}

// Take takes one password attempt at the named account from addr. It returns nil and how long
// to wait when the account's bucket and this address's own bucket for it are both empty.
func (t *PerAccount) Take(name string, addr netip.Addr) (*Attempt, time.Duration) {
	if t == nil {
		return &Attempt{}, 0
	}
	k := knownAddress{account: sha256.Sum256([]byte(name)), addr: addressKey(addr)}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	b, ok := t.accounts.Get(k.account)
	if !ok {
		b = &bucket{tokens: t.burst, last: now}
		t.accounts.Add(k.account, b)
	}
	taken, wait := b.take(now, t.burst, t.every)
	if taken {
		return &Attempt{t: t, bucket: b, known: k}, 0
	}
	if own, ok := t.known.Get(k); ok {
		ownTaken, ownWait := own.take(now, t.burst, t.every)
		if ownTaken {
			return &Attempt{t: t, bucket: own, known: k}, 0
		}
		wait = min(wait, ownWait)
	}
	return nil, wait
}

// Succeeded gives the attempt back (the password was right) and remembers its address as one
// the account signs in from.
func (a *Attempt) Succeeded() {
	t := a.t
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	a.bucket.tokens = min(t.burst, a.bucket.tokens+1)
	if _, ok := t.known.Get(a.known); !ok {
		t.known.Add(a.known, &bucket{tokens: t.burst, last: t.now()})
	}
}

// Len is how many accounts and known addresses the throttle holds now.
func (t *PerAccount) Len() (accounts, known int) { return t.accounts.Len(), t.known.Len() }
