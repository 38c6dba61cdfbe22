package store

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"testing"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

// legacySeal is how values were sealed before they named their key: nonce || ciphertext || tag.
func legacySeal(t *testing.T, k, plain, additional []byte) []byte {
	block, _ := aes.NewCipher(k)
	aead, _ := cipher.NewGCM(block)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		t.Fatal(err)
	}
	return aead.Seal(nonce, nonce, plain, additional)
}

func TestSealerSealsWithTheFirstKeyAndOpensWithAny(t *testing.T) {
	old, _ := NewSealer(key(1))
	rotating, _ := NewSealer(key(2), key(1))
	onlyNew, _ := NewSealer(key(2))
	underOld := old.Seal([]byte("seed"), []byte("devices/A"))
	if p, err := rotating.Open(underOld, []byte("devices/A")); err != nil || string(p) != "seed" {
		t.Fatalf("the list must open what its second key sealed: %q, %v", p, err)
	}
	if _, err := onlyNew.Open(underOld, []byte("devices/A")); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("a key not in the list must not open: %v", err)
	}
	underNew := rotating.Seal([]byte("seed"), []byte("devices/A"))
	if p, err := onlyNew.Open(underNew, []byte("devices/A")); err != nil || string(p) != "seed" {
		t.Fatalf("the first key seals: %q, %v", p, err)
	}
	if _, err := old.Open(underNew, []byte("devices/A")); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("the old key alone must not open what the new one sealed: %v", err)
	}
	if !rotating.SealedWithFirst(underNew) || rotating.SealedWithFirst(underOld) || old.SealedWithFirst(underNew) {
		t.Fatal("SealedWithFirst must tell the first key's values from the others'")
	}
}

// Values sealed before keys were named open with any key of the list, and never count as the
// first key's (so a reseal moves them).
func TestSealerOpensValuesThatNameNoKey(t *testing.T) {
	rotating, _ := NewSealer(key(2), key(1))
	for _, k := range [][]byte{key(1), key(2)} {
		legacy := legacySeal(t, k, []byte("salt"), []byte("recovery/bob"))
		if p, err := rotating.Open(legacy, []byte("recovery/bob")); err != nil || string(p) != "salt" {
			t.Fatalf("a legacy value must open: %q, %v", p, err)
		}
		if rotating.SealedWithFirst(legacy) {
			t.Fatal("a legacy value names no key")
		}
	}
	// A legacy value whose random nonce happens to begin like a named value still opens.
	for range 50 {
		v := legacySeal(t, key(1), []byte("x"), nil)
		copy(v, sealMagic)
		if _, err := rotating.Open(v, nil); !errors.Is(err, ErrWrongKey) { // altered nonce: must fail, not panic
			t.Fatalf("an altered value must not open: %v", err)
		}
	}
}

// What an attacker with write access to the store might try: renaming the key a value claims,
// truncating it, moving it to another record.
func TestSealerRefusesAlteredValues(t *testing.T) {
	s, _ := NewSealer(key(2), key(1))
	other, _ := NewSealer(key(9))
	good := s.Seal([]byte("seed"), []byte("devices/A"))
	renamed := bytes.Clone(good)
	copy(renamed[len(sealMagic):], keyID(key(1)))
	foreign := bytes.Clone(good)
	copy(foreign[len(sealMagic):], keyID(key(9)))
	cases := map[string][]byte{
		"claims the other key":    renamed,
		"claims an unknown key":   foreign,
		"header only":             good[:len(sealMagic)+keyIDSize],
		"truncated":               good[:len(good)-1],
		"empty":                   {},
		"magic only":              sealMagic,
		"another key's value":     other.Seal([]byte("seed"), []byte("devices/A")),
		"flipped ciphertext byte": append(bytes.Clone(good[:len(good)-1]), good[len(good)-1]^1),
	}
	for name, v := range cases {
		if _, err := s.Open(v, []byte("devices/A")); !errors.Is(err, ErrWrongKey) {
			t.Errorf("%s: want ErrWrongKey, got %v", name, err)
		}
	}
	if _, err := s.Open(good, []byte("devices/B")); !errors.Is(err, ErrWrongKey) {
		t.Error("a value moved to another record must not open")
	}
}

func TestNewSealerRefusesBadKeyLists(t *testing.T) {
	for name, keys := range map[string][][]byte{
		"none":           nil,
		"short":          {key(1)[:16]},
		"short second":   {key(1), key(2)[:31]},
		"the same twice": {key(1), key(2), key(1)},
	} {
		if _, err := NewSealer(keys...); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

func TestKeyIDRevealsNoKeyBytes(t *testing.T) {
	k := key(5)
	s, _ := NewSealer(k)
	sealed := s.Seal([]byte("p"), nil)
	if bytes.Contains(sealed, k[:keyIDSize]) || bytes.Equal(keyID(k), keyID(key(6))) {
		t.Fatal("the key id must be derived, not copied, and differ between keys")
	}
}
