package gate

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

// TestUserValuesNeverServeAnotherUser: the header values cached per user are always the caller's
// own and her current groups', whoever shared her slot or changed groups in between, also when
// many goroutines ask at once (run with -race).
func TestUserValuesNeverServeAnotherUser(t *testing.T) {
	u := newUserValues()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// More users than slots, so slots are shared and taken over.
			for i := range 3 * userValuesSize {
				name := fmt.Sprintf("user%d", (i*7+w)%(2*userValuesSize))
				groups := []string{"g" + fmt.Sprint(i%3), "all"}
				h := u.get(name, groups)
				if h.user[0] != name || !slices.Equal(h.groups, groups) || h.joined[0] != groups[0]+",all" {
					t.Errorf("%s with %v got %q, %v, %q", name, groups, h.user[0], h.groups, h.joined[0])
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestUserValuesCachedForAKnownCaller: a caller seen before, with the same groups, gets the very
// same values (no allocation on the request path); new groups get new values.
func TestUserValuesCachedForAKnownCaller(t *testing.T) {
	u := newUserValues()
	first := u.get("alice", []string{"dev"})
	if again := u.get("alice", []string{"dev"}); again != first {
		t.Error("a known caller's values were made anew")
	}
	if moved := u.get("alice", []string{"ops"}); moved == first || moved.joined[0] != "ops" {
		t.Errorf("alice moved to ops, got %q", moved.joined[0])
	}
	if none := u.get("bob", nil); none.joined != nil || none.user[0] != "bob" {
		t.Errorf("bob without groups got %q, %v", none.user[0], none.joined)
	}
}
