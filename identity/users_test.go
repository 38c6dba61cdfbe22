package identity

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-mfa/caddy-mfa/store/caddystore"
)

func newDirectory(t *testing.T) *Directory {
	st := caddystore.New(&certmagic.FileStorage{Path: t.TempDir()}, "mfa")
	return NewDirectory(st, func() time.Time { return time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC) }, bcrypt.MinCost)
}

func hash(t *testing.T, pw string) string {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func TestUsers(t *testing.T) {
	ctx := t.Context()
	d := newDirectory(t)
	u, err := d.Create(ctx, "alice", hash(t, "pw"), []string{"admins"})
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Handle) != 32 || string(u.Handle) == "alice" {
		t.Fatal("the WebAuthn handle is not 32 random bytes")
	}
	if _, err := d.Create(ctx, "alice", hash(t, "pw"), nil); !errors.Is(err, ErrUserExists) {
		t.Fatalf("duplicate: %v", err)
	}
	for _, bad := range []string{"", "has space", "a/b", string(make([]byte, 65))} {
		if _, err := d.Create(ctx, bad, "", nil); err == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
	if _, err := d.Create(ctx, "bob", "not-a-hash", nil); err == nil {
		t.Error("a password that is not a bcrypt hash was accepted")
	}
	if err := d.Ensure(ctx, "alice", hash(t, "new"), []string{"ops"}); err != nil {
		t.Fatal(err)
	}
	got, _ := d.Get(ctx, "alice")
	if got.Groups[0] != "ops" || string(got.Handle) != string(u.Handle) {
		t.Fatal("Ensure did not update the groups, or lost the handle")
	}
	if _, err := d.Authenticate(ctx, "alice", "new"); err != nil {
		t.Fatalf("right password: %v", err)
	}
	for _, c := range []struct{ name, pw string }{{"alice", "pw"}, {"nobody", "pw"}, {"alice", ""}} {
		if _, err := d.Authenticate(ctx, c.name, c.pw); !errors.Is(err, ErrBadCredentials) {
			t.Errorf("%s/%q: %v", c.name, c.pw, err)
		}
	}
	ext, err := d.EnsureExternal(ctx, "carol@example.com")
	if err != nil || ext.PasswordHash != "" {
		t.Fatalf("external user: %+v %v", ext, err)
	}
	if _, err := d.Authenticate(ctx, "carol@example.com", ""); !errors.Is(err, ErrBadCredentials) {
		t.Fatal("a user without a password signed in")
	}
	list, _ := d.List(ctx)
	if len(list) != 2 || list[0].Name != "alice" {
		t.Fatalf("list: %d users", len(list))
	}
	if err := d.Delete(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Get(ctx, "alice"); !errors.Is(err, ErrNoSuchUser) {
		t.Fatalf("after delete: %v", err)
	}
}

// TestUnknownUserCostsABcrypt checks the unknown-user path spends a real bcrypt comparison at
// the configured cost, so that timing does not tell names apart. It counts work, not time.
func TestUnknownUserCostsABcrypt(t *testing.T) {
	d := newDirectory(t)
	d.dummyCost = 8
	_, _ = d.Authenticate(t.Context(), "nobody", "pw")
	if cost, err := bcrypt.Cost(d.dummyHash); err != nil || cost != 8 {
		t.Fatalf("dummy hash cost %d, %v", cost, err)
	}
}

// TestUnknownAndKnownUsersTakeAlike measures both sign-in paths: an unknown name and a wrong
// password each cost one bcrypt at the users' cost, so their medians stay close.
func TestUnknownAndKnownUsersTakeAlike(t *testing.T) {
	ctx := t.Context()
	const cost = 8
	st := caddystore.New(&certmagic.FileStorage{Path: t.TempDir()}, "mfa")
	d := NewDirectory(st, time.Now, cost)
	h, _ := bcrypt.GenerateFromPassword([]byte("right"), cost)
	if _, err := d.Create(ctx, "alice", string(h), nil); err != nil {
		t.Fatal(err)
	}
	_, _ = d.Authenticate(ctx, "warm-up", "x") // makes the dummy hash
	var unknown, wrong []time.Duration
	for range 11 {
		start := time.Now()
		_, _ = d.Authenticate(ctx, "nobody", "guess")
		unknown = append(unknown, time.Since(start))
		start = time.Now()
		_, _ = d.Authenticate(ctx, "alice", "guess")
		wrong = append(wrong, time.Since(start))
	}
	slices.Sort(unknown)
	slices.Sort(wrong)
	mu, mw := unknown[5], wrong[5]
	t.Logf("median sign-in: unknown user %v, wrong password %v", mu, mw)
	if ratio := float64(mu) / float64(mw); ratio < 0.6 || ratio > 1.6 {
		t.Fatalf("unknown users take %v and wrong passwords %v: a timing oracle", mu, mw)
	}
}
