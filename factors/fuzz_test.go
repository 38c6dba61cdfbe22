package factors

import (
	"bytes"
	"os"
	"testing"
)

// FuzzParseSeedsCSV: any bytes are refused or read, never a panic, and what is read is valid.
func FuzzParseSeedsCSV(f *testing.F) {
	f.Add([]byte("serial,secret,algorithm,digits,period,name\nGAHT12345678,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ,SHA1,6,30,t\n"))
	f.Add([]byte("serial,secret_hex\nGAHT00000001,3132333435363738393031323334353637383930\n"))
	f.Add([]byte("serial,secret\n\"unterminated\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		seeds, err := ParseSeedsCSV(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, s := range seeds {
			if ValidateSerial(s.Serial) != nil || s.TOTP.Validate() != nil || len(s.Seed) < 16 {
				t.Fatalf("accepted an invalid seed: %+v", s)
			}
		}
	})
}

// FuzzParseSeedsPSKC: the same for PSKC key containers, with and without a pre-shared key.
func FuzzParseSeedsPSKC(f *testing.F) {
	for _, name := range []string{"testdata/rfc6030-figure6.pskcxml", "testdata/rfc6030-figure2.pskcxml"} {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
		f.Add(bytes.Replace(raw, []byte("pskc:hotp"), []byte("pskc:totp"), 1))
	}
	psk := []byte{0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, key := range [][]byte{nil, psk} {
			seeds, err := ParseSeedsPSKC(data, key)
			if err != nil {
				continue
			}
			for _, s := range seeds {
				if ValidateSerial(s.Serial) != nil || s.TOTP.Validate() != nil || len(s.Seed) < 16 {
					t.Fatalf("accepted an invalid seed: %+v", s)
				}
			}
		}
	})
}
