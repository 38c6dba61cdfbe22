package session

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestRememberedBrowserCredentials: what an attacker holding a cookie, or writing one, can try.
// Only the user's own live credential, unaltered, passes.
func TestRememberedBrowserCredentials(t *testing.T) {
	ctx := context.Background()
	st := fileStore(t)
	c := &clock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	rb := NewRememberedBrowsers(st, c.now)
	const month = 30 * 24 * time.Hour
	cred, rec, err := rb.Remember(ctx, "alice", month, "192.0.2.1", "Firefox")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := st.Get(ctx, rememberedKey("alice", rec.ID))
	_, secret, _ := strings.Cut(cred, ".")
	if bytes.Contains(raw, []byte(secret)) {
		t.Fatal("the secret is stored in clear")
	}
	id, _, _ := strings.Cut(cred, ".")
	flipped := []byte(cred) // another base64url letter, so the secret still decodes (a flipped bit may not)
	if flipped[len(flipped)-2] == 'A' {
		flipped[len(flipped)-2] = 'B'
	} else {
		flipped[len(flipped)-2] = 'A'
	}
	cases := []struct {
		name, user, cred string
		want             error
	}{
		{"another user's", "bob", cred, ErrNotRemembered},
		{"secret altered", "alice", string(flipped), ErrRememberedMismatch},
		{"secret of another length", "alice", cred + "AA", ErrNotRemembered},
		{"id only", "alice", id, ErrNotRemembered},
		{"id upper case", "alice", strings.ToUpper(id) + "." + secret, ErrNotRemembered},
		{"path in the id", "alice", "../../devices/xxxxxxxxxxxxxxxxxx." + secret, ErrNotRemembered},
		{"empty", "alice", "", ErrNotRemembered},
		{"no user", "", cred, ErrNotRemembered},
	}
	for _, tc := range cases {
		if _, err := rb.Use(ctx, tc.user, tc.cred, month, "", ""); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v; want %v", tc.name, err, tc.want)
		}
	}
	c.advance(time.Hour)
	used, err := rb.Use(ctx, "alice", cred, month, "198.51.100.7", strings.Repeat("x", 1000))
	if err != nil || !used.LastUsed.Equal(c.t) || used.SourceIP != "198.51.100.7" || len(used.UserAgent) != maxUserAgent {
		t.Fatalf("own credential: %+v %v", used, err)
	}
	if _, err := rb.Use(ctx, "alice", cred, 30*time.Minute, "", ""); !errors.Is(err, ErrNotRemembered) {
		t.Fatalf("a site that remembers for 30 minutes took a credential made an hour ago: %v", err)
	}
	c.advance(month)
	if _, err := rb.Use(ctx, "alice", cred, 2*month, "", ""); !errors.Is(err, ErrNotRemembered) {
		t.Fatalf("expired: %v", err)
	}
	if _, err := st.Get(ctx, rememberedKey("alice", rec.ID)); err == nil {
		t.Fatal("an expired record stays")
	}
}

// TestRememberedBrowserList: the list shows live records of the user only; forgetting one, or
// all, voids their credentials.
func TestRememberedBrowserList(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	rb := NewRememberedBrowsers(fileStore(t), c.now)
	short, _, _ := rb.Remember(ctx, "alice", time.Hour, "", "old")
	c.advance(time.Minute)
	keep, kept, _ := rb.Remember(ctx, "alice", 24*time.Hour, "", "laptop")
	forget, gone, _ := rb.Remember(ctx, "alice", 24*time.Hour, "", "phone")
	_, _, _ = rb.Remember(ctx, "bob", 24*time.Hour, "", "bob's")
	c.advance(time.Hour)
	list, err := rb.List(ctx, "alice")
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %d records, %v; want the two live ones", len(list), err)
	}
	if _, err := rb.Use(ctx, "alice", short, 24*time.Hour, "", ""); !errors.Is(err, ErrNotRemembered) {
		t.Fatalf("expired and listed away: %v", err)
	}
	if err := rb.Forget(ctx, "bob", gone.ID); !errors.Is(err, ErrNotRemembered) {
		t.Fatalf("bob forgets alice's: %v", err)
	}
	if err := rb.Forget(ctx, "alice", gone.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := rb.Use(ctx, "alice", forget, 24*time.Hour, "", ""); !errors.Is(err, ErrNotRemembered) {
		t.Fatalf("forgotten: %v", err)
	}
	if _, err := rb.Use(ctx, "alice", keep, 24*time.Hour, "", ""); err != nil {
		t.Fatalf("the other one: %v", err)
	}
	if n, err := rb.ForgetAll(ctx, "alice"); err != nil || n != 1 {
		t.Fatalf("forget all: %d, %v", n, err)
	}
	if _, err := rb.Use(ctx, "alice", keep, 24*time.Hour, "", ""); !errors.Is(err, ErrNotRemembered) || kept == nil {
		t.Fatalf("after forget all: %v", err)
	}
	if list, _ := rb.List(ctx, "bob"); len(list) != 1 {
		t.Fatalf("bob's list: %d", len(list))
	}
}
