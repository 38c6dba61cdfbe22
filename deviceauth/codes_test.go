package deviceauth

import (
	"strings"
	"testing"
)

func TestUserCodesAreDrawnFromTheAlphabet(t *testing.T) {
	seen := map[byte]bool{}
	for range 500 {
		c := newUserCode()
		if len(c) != UserCodeLength || strings.Trim(c, UserCodeAlphabet) != "" {
			t.Fatalf("user code %q", c)
		}
		for i := range len(c) {
			seen[c[i]] = true
		}
	}
	if len(seen) != len(UserCodeAlphabet) {
		t.Fatalf("4000 characters drew only %d of the alphabet's %d", len(seen), len(UserCodeAlphabet))
	}
	if got := FormatUserCode("BCDFGHJK"); got != "BCDF-GHJK" {
		t.Fatalf("format: %q", got)
	}
}

// TestUserCodeSpellings: what a person types is read case-insensitively with or without the
// dash and spaces; anything else, look-alikes outside ASCII among them, is no code.
func TestUserCodeSpellings(t *testing.T) {
	for typed, want := range map[string]string{
		"BCDF-GHJK": "BCDFGHJK", "bcdf-ghjk": "BCDFGHJK", "BcDfGhJk": "BCDFGHJK", " bcdf ghjk ": "BCDFGHJK",
		"BCDF--GHJK": "BCDFGHJK", "B-C-D-F-G-H-J-K": "BCDFGHJK", "bcdf\tghjk": "BCDFGHJK",
		"": "", "BCDF-GHJ": "", "BCDF-GHJKL": "", "BCDF-GHJA": "", // a vowel
		"BCDF-GHJ0": "", "BCDF-GHJ1": "", "BCDF_GHJK": "", "BCDF.GHJK": "", "BCDF%2DGHJK": "",
		"BCDF-GHJſ":     "", // the long s upper-cases to S
		"BCDF-GHıJ":     "", // the dotless i upper-cases to I
		"ＢCDF-GHJK":     "", // full-width B
		"BCDF-GHJK\x00": "", "BCDF\u00a0GHJK": "", "BCDF-GHJK\n": "",
		strings.Repeat("B", 1000): "",
	} {
		got, ok := NormalizeUserCode(typed)
		if got != want || ok != (want != "") {
			t.Errorf("NormalizeUserCode(%q) = %q, %v; want %q", typed, got, ok, want)
		}
	}
}

func TestDeviceCodesCarryTheirUserCode(t *testing.T) {
	dc, hash := newDeviceCode("BCDFGHJK")
	code, secret, ok := parseDeviceCode(dc)
	if !ok || code != "BCDFGHJK" || !secretMatches(secret, hash) || len(dc) != 51 {
		t.Fatalf("device code %d chars: %q %v", len(dc), code, ok)
	}
	for _, bad := range []string{"", dc[:50], dc + "A", strings.ToLower(dc[:8]) + dc[8:], "AEIOUAEI" + dc[8:],
		dc[:8] + strings.Repeat("!", 43), dc[:50] + "B" /* not canonical base64url of 32 bytes */} {
		if _, _, ok := parseDeviceCode(bad); ok && bad != dc {
			t.Errorf("parseDeviceCode(%q) accepted", bad)
		}
	}
	other, _ := newDeviceCode("BCDFGHJK")
	if _, s2, _ := parseDeviceCode(other); secretMatches(s2, hash) {
		t.Fatal("another device code's secret matched")
	}
}
