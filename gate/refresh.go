package gate

import (
	"hash/maphash"
	"sync/atomic"
	"time"

	"github.com/caddy-mfa/caddy-mfa/session"
)

// refreshes remembers when this node last moved each cookie session's idle deadline. A client
// that keeps sending the cookie it had (one that ignores Set-Cookie, a page's many requests in
// flight at once, a script with a fixed cookie) would otherwise make every request, once the
// deadline is a minute stale, sign a new cookie and write the sign-in record to storage: a write
// per request that any holder of a valid cookie could drive. So a node refreshes a session at
// most once per session.RefreshAfter.
//
// It is a fixed table of slots, one chosen by a hash of the session id, taken with compare-and-
// swap so that of one session's concurrent requests exactly one refreshes. Bounded by its size;
// a session whose slot another session took may be refreshed again early, which is harmless.
type refreshes struct {
	seed  maphash.Seed
	slots []atomic.Pointer[refreshed]
}

type refreshed struct {
	id   session.SessionID
	user string
	at   time.Time
}

const refreshSlots = 4096 // a power of two: a slot is the hash's low bits

func newRefreshes() refreshes {
	return refreshes{seed: maphash.MakeSeed(), slots: make([]atomic.Pointer[refreshed], refreshSlots)}
}

// claim reports whether this request is the one to refresh c's session now: false when this
// node refreshed it less than session.RefreshAfter ago, or another request is doing it.
func (f *refreshes) claim(c *session.Claims, now time.Time) bool {
	slot := &f.slots[maphash.Comparable(f.seed, c.SessionID)&(refreshSlots-1)]
	old := slot.Load()
	if old != nil && old.id == c.SessionID && old.user == c.User && now.Sub(old.at) < session.RefreshAfter {
		return false
	}
	return slot.CompareAndSwap(old, &refreshed{id: c.SessionID, user: c.User, at: now})
}
