package factors

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

var rfcSeed = []byte("12345678901234567890")

func TestParseSeedsCSV(t *testing.T) {
	seeds, err := ParseSeedsCSV(strings.NewReader("serial,secret,algorithm,digits,period,name\n" +
		"GAHT12345678,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ,SHA1,6,30,desk-token\n" +
		"GAHT12345679, gezdgnbvgy3tqojqgezdgnbvgy3tqojq ,SHA256,8,60,\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(seeds) != 2 || !bytes.Equal(seeds[0].Seed, rfcSeed) || seeds[1].TOTP != (TOTP{"SHA256", 8, 60}) || seeds[1].Name != "GAHT12345679" {
		t.Fatalf("seeds: %+v", seeds)
	}
	hexSeeds, err := ParseSeedsCSV(strings.NewReader("serial,secret_hex\nGAHT00000001," + hex.EncodeToString(rfcSeed) + "\n"))
	if err != nil || !bytes.Equal(hexSeeds[0].Seed, rfcSeed) || hexSeeds[0].TOTP != VirtualTOTP {
		t.Fatalf("hex: %+v %v", hexSeeds, err)
	}
	for _, c := range []struct{ file, where, want string }{
		{"", "header", "header row"},
		{"name,secret\nx,y\n", "header", "serial column"},
		{"serial,secret,secret_hex\n", "header", "one of the columns"},
		{"serial,secret\nGAHT12345678,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\nGAHT12345679,not*base32\n", "row 3", "Base32"},
		{"serial,secret\nshort,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n", "row 2", "serial"},
		{"serial,secret\nGAHT12345678,GEZDGNBV\n", "row 2", "128 bits"},
		{"serial,secret,digits\nGAHT12345678,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ,7\n", "row 2", "digits"},
		{"serial,secret,algorithm\nGAHT12345678,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ,MD5\n", "row 2", "algorithm"},
		{"serial,secret\nGAHT12345678,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\nGAHT12345678,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n", "row 3", "twice"},
		{"serial,secret\n", "file", "no tokens"},
	} {
		_, err := ParseSeedsCSV(strings.NewReader(c.file))
		var ie *ImportError
		if !errors.As(err, &ie) || ie.Where != c.where || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%q: %v, want %s: ...%s", c.file, err, c.where, c.want)
		}
	}
}

// TestHardwareTokenLifecycle takes a hardware token from import through enable, drift and resync
// to deactivation and deletion, and checks that a virtual device goes away on deactivation.
func TestHardwareTokenLifecycle(t *testing.T) {
	ctx := context.Background()
	r, c, _ := newRegistry(t)
	tok := TOTP{"SHA512", 8, 60}
	importTwoHardwareTokens(t, r, tok)
	code := func(offset int64) string {
		s, _ := tok.Code(rfcSeed, tok.Step(c.t)+offset)
		return s
	}
	followTheTokensDrift(t, r, c, code)
	if err := r.Delete(ctx, "GAHT00000001"); !errors.Is(err, ErrAssigned) {
		t.Fatalf("deleting an assigned token: %v", err)
	}
	if _, err := r.Deactivate(ctx, "alice", "GAHT00000001"); err != nil {
		t.Fatal(err)
	}
	d, _ := r.Get(ctx, "GAHT00000001")
	if d.User != "" || d.Enabled || d.LastStep == 0 {
		t.Fatalf("a deactivated token: %+v", d)
	}
	if ds, _ := r.ForUser(ctx, "alice"); len(ds) != 0 {
		t.Fatalf("alice still has %d devices", len(ds))
	}
	if err := r.Delete(ctx, "GAHT00000001"); err != nil {
		t.Fatalf("deleting an unassigned token: %v", err)
	}
	all, _ := r.All(ctx)
	if len(all) != 1 || all[0].Serial != "GAHT00000002" {
		t.Fatalf("all devices: %d", len(all))
	}
	// A virtual device is deleted on deactivation.
	nv := enrol(t, r, c, "alice", "phone")
	if _, err := r.Deactivate(ctx, "alice", nv.Device.Serial); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Get(ctx, nv.Device.Serial); !errors.Is(err, ErrNoSuchDevice) {
		t.Fatalf("a deactivated virtual device: %v", err)
	}
}

// importTwoHardwareTokens imports GAHT00000001 (with tok's settings) and GAHT00000002, and checks
// that a serial cannot be imported twice.
func importTwoHardwareTokens(t *testing.T, r *Devices, tok TOTP) {
	t.Helper()
	ctx := context.Background()
	seeds := []HardwareSeed{{Serial: "GAHT00000001", Name: "t1", Seed: rfcSeed, TOTP: tok}, {Serial: "GAHT00000002", Name: "t2", Seed: rfcSeed, TOTP: VirtualTOTP}}
	if _, err := r.ImportHardware(ctx, seeds); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ImportHardware(ctx, seeds[1:]); !errors.Is(err, ErrDeviceExists) {
		t.Fatalf("importing a serial twice: %v", err)
	}
}

// followTheTokensDrift enables GAHT00000001 for alice with a token clock 3 steps slow, then lets
// it drift further until only a resync brings it back; code(offset) is the token's code that many
// steps from the registry's clock.
func followTheTokensDrift(t *testing.T, r *Devices, c *clock, code func(offset int64) string) {
	t.Helper()
	ctx := context.Background()
	// The token's clock runs 3 steps (3 minutes) slow: enable records the drift.
	if _, err := r.Enable(ctx, "alice", "GAHT00000001", code(-4), code(-3)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Enable(ctx, "bob", "GAHT00000001", code(-2), code(-1)); !errors.Is(err, ErrInUse) {
		t.Fatalf("a token serves one user: %v", err)
	}
	c.advance(10 * time.Minute)
	if d, err := r.Verify(ctx, "alice", "GAHT00000001", code(-3)); err != nil || d.Type != TypeHardware {
		t.Fatalf("a sign-in at the token's time: %v", err)
	}
	// The clock drifts further; sign-in fails; resync finds it.
	c.advance(10 * time.Minute)
	if _, err := r.Verify(ctx, "alice", "", code(-8)); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("a code far off the drift: %v", err)
	}
	if _, err := r.Resync(ctx, "alice", "GAHT00000001", code(-9), code(-8)); err != nil {
		t.Fatal(err)
	}
	c.advance(2 * time.Minute)
	if _, err := r.Verify(ctx, "alice", "", code(-8)); err != nil {
		t.Fatalf("after resync: %v", err)
	}
}
