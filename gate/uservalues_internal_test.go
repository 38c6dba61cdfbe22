package gate

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestUserGroupsNeverServeAnotherUser: the groups value cached per user is always the caller's
// own current groups', whoever shared her slot or changed groups in between, also when many
// goroutines ask at once (run with -race).
func TestUserGroupsNeverServeAnotherUser(t *testing.T) {
	u := newUserGroups()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// More users than slots, so slots are shared and taken over.
			for i := range 3 * userGroupsSize {
				name := fmt.Sprintf("user%d", (i*7+w)%(2*userGroupsSize))
				groups := []string{"g" + fmt.Sprint(i%3), name}
				if got, want := u.get(name, groups), strings.Join(groups, ","); got != want {
					t.Errorf("%s with %v got %q", name, groups, got)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestUserGroupsCachedForAKnownCaller: a caller seen before, with the same groups, gets the very
// same joined value (no allocation on the request path); new groups get a new one.
func TestUserGroupsCachedForAKnownCaller(t *testing.T) {
	u := newUserGroups()
	first := u.get("alice", []string{"dev", "ops"})
	if again := u.get("alice", []string{"dev", "ops"}); again != first || first != "dev,ops" {
		t.Errorf("alice: %q then %q", first, again)
	}
	if moved := u.get("alice", []string{"ops"}); moved != "ops" {
		t.Errorf("alice moved to ops, got %q", moved)
	}
}
