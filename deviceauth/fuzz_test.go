package deviceauth

import (
	"strings"
	"testing"
)

// FuzzUserCode: whatever is typed, a code read from it is 8 letters of the alphabet that
// reads back as itself when shown.
func FuzzUserCode(f *testing.F) {
	for _, s := range []string{"BCDF-GHJK", "bcdf ghjk", "", "ſſſſ-ſſſſ", "BCDF\x00GHJK", "----"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		code, ok := NormalizeUserCode(typed)
		if !ok {
			if code != "" {
				t.Fatalf("refused %q but read %q", typed, code)
			}
			return
		}
		if len(code) != UserCodeLength || strings.Trim(code, UserCodeAlphabet) != "" {
			t.Fatalf("%q read as %q", typed, code)
		}
		if again, ok := NormalizeUserCode(FormatUserCode(code)); !ok || again != code {
			t.Fatalf("%q shown as %q reads %q", code, FormatUserCode(code), again)
		}
	})
}

// FuzzDeviceCode: a device code is read whole or not at all.
func FuzzDeviceCode(f *testing.F) {
	dc, _ := newDeviceCode("BCDFGHJK")
	for _, s := range []string{dc, dc[:50], "", strings.Repeat("B", 51)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		code, secret, ok := parseDeviceCode(in)
		if ok && code+secret != in {
			t.Fatalf("%q read as %q + %q", in, code, secret)
		}
	})
}
