package factors

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/caddy-mfa/caddy-mfa/store"
)

func TestRecoveryCodes(t *testing.T) {
	ctx := context.Background()
	st := newTestStore(t)
	sealer, _ := store.NewSealer(bytes.Repeat([]byte{9}, store.KeySize))
	c := &clock{}
	rc := NewRecoveryCodes(st, sealer, c.now)
	codes, err := rc.Generate(ctx, "alice")
	if err != nil || len(codes) != 10 {
		t.Fatalf("generate: %d codes, %v", len(codes), err)
	}
	raw, _ := st.Get(ctx, recoveryKey("alice"))
	for _, code := range codes {
		if len(normalizeRecovery(code)) != 16 || !LooksLikeRecoveryCode(code) || LooksLikeRecoveryCode("123456") {
			t.Fatalf("code %q", code)
		}
		if bytes.Contains(raw, []byte(normalizeRecovery(code))) {
			t.Fatal("a code is stored in clear")
		}
	}
	// Typed loosely: lower case, spaces.
	if err := rc.Use(ctx, "alice", strings.ToLower(strings.ReplaceAll(codes[3], "-", " "))); err != nil {
		t.Fatalf("use: %v", err)
	}
	if err := rc.Use(ctx, "alice", codes[3]); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("a spent code: %v", err)
	}
	if err := rc.Use(ctx, "bob", codes[4]); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("alice's code for bob: %v", err)
	}
	if n, _ := rc.Remaining(ctx, "alice"); n != 9 {
		t.Fatalf("remaining %d", n)
	}
	fresh, _ := rc.Generate(ctx, "alice")
	if err := rc.Use(ctx, "alice", codes[5]); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("an old code after regeneration: %v", err)
	}
	if err := rc.Void(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := rc.Use(ctx, "alice", fresh[0]); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("a voided code: %v", err)
	}
}
