package store

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestKeyEscapesEveryPart(t *testing.T) {
	for _, part := range []string{"alice", "..", "a/b", "arn:mfa/x=y+z,@.", "%41", "Ünïcode"} {
		key := Key("devices", part)
		if strings.Count(key, "/") != 1 || strings.Contains(key, "..") {
			t.Errorf("Key(devices, %q) = %q: a part added a level or kept a dot", part, key)
		}
		if got := LastPart(key); got != part {
			t.Errorf("LastPart(%q) = %q, want %q", key, got, part)
		}
	}
}

func TestSealerRoundTripAndBinding(t *testing.T) {
	s, err := NewSealer(bytes.Repeat([]byte{7}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	sealed := s.Seal([]byte("seed"), []byte("devices/A"))
	if bytes.Contains(sealed, []byte("seed")) {
		t.Fatal("sealed value holds the plaintext")
	}
	plain, err := s.Open(sealed, []byte("devices/A"))
	if err != nil || string(plain) != "seed" {
		t.Fatalf("Open = %q, %v", plain, err)
	}
	if _, err := s.Open(sealed, []byte("devices/B")); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("a value moved to another record must not open: %v", err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := s.Open(sealed, []byte("devices/A")); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("an altered value must not open: %v", err)
	}
	if _, err := s.Open([]byte("short"), nil); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("a truncated value must not open: %v", err)
	}
	if _, err := NewSealer([]byte("short")); err == nil {
		t.Fatal("a short key must be refused")
	}
}
