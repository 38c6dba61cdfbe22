package caddymodule

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-mfa/caddy-mfa/store"
	"github.com/caddy-mfa/caddy-mfa/store/caddystore"
)

// encryption_key in JSON: a string as before, or a list; one key is written back as a string.
func TestKeyListJSON(t *testing.T) {
	for in, want := range map[string][]string{
		`"k1"`:        {"k1"},
		`["k1"]`:      {"k1"},
		`["k1","k2"]`: {"k1", "k2"},
		`""`:          nil,
	} {
		var k KeyList
		if err := json.Unmarshal([]byte(in), &k); err != nil || !slices.Equal(k, want) {
			t.Errorf("%s: %v, %v", in, k, err)
		}
	}
	for _, bad := range []string{`1`, `{"a":1}`, `[1]`, `true`} {
		var k KeyList
		if err := json.Unmarshal([]byte(bad), &k); err == nil || !strings.Contains(err.Error(), "encryption_key") {
			t.Errorf("%s: want an error naming encryption_key, got %v", bad, err)
		}
	}
	out, _ := json.Marshal(struct {
		One  KeyList `json:"one"`
		Many KeyList `json:"many"`
	}{KeyList{"k1"}, KeyList{"k1", "k2"}})
	if string(out) != `{"one":"k1","many":["k1","k2"]}` {
		t.Errorf("marshalled %s", out)
	}
}

// A store sealed under the old key validates with the new key first and the old one after it,
// not with the new key alone; a list with a bad or repeated key is refused by its position.
func TestValidateWithAKeyList(t *testing.T) {
	storage := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	oldKey, newKey := randomBytes(t, store.KeySize), randomBytes(t, store.KeySize)
	sealer, _ := store.NewSealer(oldKey)
	if err := store.CheckKey(context.Background(), caddystore.New(&certmagic.FileStorage{Path: storage}, "mfa"), sealer); err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString
	signing := "\n\t\tsigning_keys " + randomKey(t)
	for _, c := range []struct{ keys, wantErr string }{
		{b64(newKey) + " " + b64(oldKey), ""},
		{b64(oldKey) + " " + b64(newKey), ""},
		{b64(newKey), "encryption_key is not the key"},
		{b64(newKey) + " " + b64(oldKey)[:20], "encryption_key[1]: the key is"},
		{b64(newKey) + " " + b64(oldKey) + " " + b64(newKey), "encryption key 3: the same key as key 1"},
	} {
		err := caddyValidate(t, validateConfig(storage, "encryption_key "+c.keys+signing))
		if (c.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("keys %d long: want %q, got %v", len(strings.Fields(c.keys)), c.wantErr, err)
		}
		if err != nil && (strings.Contains(err.Error(), b64(oldKey)) || strings.Contains(err.Error(), b64(newKey))) {
			t.Errorf("the error quotes a key: %v", err)
		}
	}
	if _, err := adapt(t, validateConfig(storage, "encryption_key"+signing)); err == nil || !strings.Contains(err.Error(), "after 'encryption_key'") {
		t.Errorf("encryption_key with no key must be refused at adapt time: %v", err)
	}
}
