package identity

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-mfa/caddy-mfa/store"
	"github.com/caddy-mfa/caddy-mfa/store/caddystore"
)

// TestAccessKeyIDShape: ids are MKIA and sixteen upper-case letters and digits 2-7, nothing else.
func TestAccessKeyIDShape(t *testing.T) {
	for _, bad := range []string{"", "AKIAAAAAAAAAAAAAAAAA", "MKIAaaaaaaaaaaaaaaaa", "MKIA1111111111111111", "MKIAAAAAAAAAAAAAAAAAA"} {
		if IsAccessKeyID(bad) {
			t.Errorf("%q looks like an access key id", bad)
		}
	}
}

func TestAccessKeysAndIndex(t *testing.T) {
	ctx := t.Context()
	st := caddystore.New(&certmagic.FileStorage{Path: t.TempDir()}, "mfa")
	now := func() time.Time { return time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC) }
	sealer, _ := store.NewSealer(bytes.Repeat([]byte{5}, store.KeySize))
	users := NewDirectory(st, now, bcrypt.MinCost)
	keys := NewAccessKeys(st, sealer, now)
	if _, err := users.Create(ctx, "alice", "", []string{"dev"}); err != nil {
		t.Fatal(err)
	}
	a, err := keys.Create(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !IsAccessKeyID(a.Key.ID) || len(a.Secret) != 40 || !strings.HasPrefix(a.Key.ID, "MKIA") {
		t.Fatalf("key %q secret length %d", a.Key.ID, len(a.Secret))
	}
	raw, _ := st.Get(ctx, accessKeyKey(a.Key.ID))
	if bytes.Contains(raw, []byte(a.Secret)) {
		t.Fatal("the secret is stored in clear")
	}
	if _, err := keys.Create(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Create(ctx, "alice"); !errors.Is(err, ErrAccessKeyLimit) {
		t.Fatalf("a third key: %v", err)
	}

	// Two nodes' indexes: both see the keys after a reload; the secret must match.
	x1, x2 := NewKeyIndex(keys, users), NewKeyIndex(keys, users)
	for _, x := range []*KeyIndex{x1, x2} {
		if err := x.Reload(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got, ok := x2.Lookup(a.Key.ID, a.Secret)
	if !ok || got.User != "alice" || got.Groups[0] != "dev" {
		t.Fatalf("lookup: %+v %v", got, ok)
	}
	wrong := a.Secret[:39] + "x" // the last character changed: it must not be an x already
	if strings.HasSuffix(a.Secret, "x") {
		wrong = a.Secret[:39] + "y"
	}
	if _, ok := x2.Lookup(a.Key.ID, wrong); ok {
		t.Fatal("a wrong secret passed")
	}
	if _, ok := x2.Lookup("MKIAAAAAAAAAAAAAAAAA", a.Secret); ok {
		t.Fatal("an unknown id passed")
	}
	if err := keys.Delete(ctx, a.Key); err != nil {
		t.Fatal(err)
	}
	if err := x2.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := x2.Lookup(a.Key.ID, a.Secret); ok {
		t.Fatal("a deleted key still works after the reload")
	}

}
