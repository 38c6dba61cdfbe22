package factors

import (
	"bufio"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// readTSV returns the rows of a vectors file (copied from shared/vectors, checked against oathtool).
func readTSV(t *testing.T, name string) [][]string {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rows = append(rows, strings.Split(line, "\t"))
	}
	return rows[1:] // the header
}

func TestRFC4226Vectors(t *testing.T) {
	rows := readTSV(t, "rfc4226-hotp.tsv")
	if len(rows) != 10 {
		t.Fatalf("want the 10 vectors of RFC 4226 Appendix D, got %d", len(rows))
	}
	for _, row := range rows {
		counter, _ := strconv.ParseInt(row[0], 10, 64)
		seed, _ := hex.DecodeString(row[1])
		got, err := (TOTP{Algorithm: "SHA1", Digits: 6, Period: 30}).Code(seed, counter)
		if err != nil || got != row[2] {
			t.Errorf("HOTP(counter %d) = %q, %v; want %s", counter, got, err, row[2])
		}
	}
}

func TestRFC6238Vectors(t *testing.T) {
	rows := readTSV(t, "rfc6238-totp.tsv")
	if len(rows) != 18 {
		t.Fatalf("want the 18 vectors of RFC 6238 Appendix B, got %d", len(rows))
	}
	for _, row := range rows {
		unix, _ := strconv.ParseInt(row[0], 10, 64)
		seed, _ := hex.DecodeString(row[2])
		p := TOTP{Algorithm: row[1], Digits: 8, Period: 30}
		step := p.Step(time.Unix(unix, 0))
		got, err := p.Code(seed, step)
		if err != nil || got != row[3] {
			t.Errorf("TOTP(%s, t=%d) = %q, %v; want %s", row[1], unix, got, err, row[3])
		}
		if s, ok := p.MatchStep(seed, row[3], step-1, step+1); !ok || s != step {
			t.Errorf("MatchStep(%s, t=%d) = %d, %v; want step %d", row[1], unix, s, ok, step)
		}
	}
}

func TestMatchStepRefusesMalformedCodes(t *testing.T) {
	seed := []byte("12345678901234567890")
	for _, code := range []string{"", "12345", "1234567", "12345a", " 94287", "94287082"} {
		if _, ok := VirtualTOTP.MatchStep(seed, code, 0, 100); ok {
			t.Errorf("code %q matched", code)
		}
	}
}

func TestMatchConsecutive(t *testing.T) {
	seed := []byte("12345678901234567890")
	p := VirtualTOTP
	now := int64(1000)
	code := func(s int64) string { c, _ := p.Code(seed, s); return c }
	for _, d := range []int64{-10, -3, 0, 4, 10} {
		got := p.MatchConsecutive(seed, code(now+d), code(now+d+1), now, 10)
		if len(got) != 1 || got[0] != d {
			t.Errorf("codes at offset %d: got offsets %v", d, got)
		}
	}
	if got := p.MatchConsecutive(seed, code(now+11), code(now+12), now, 10); len(got) != 0 {
		t.Errorf("codes outside the window matched at %v", got)
	}
	if got := p.MatchConsecutive(seed, code(now+1), code(now), now, 10); len(got) != 0 {
		t.Errorf("codes in the wrong order matched at %v", got)
	}
	if got := p.MatchConsecutive(seed, code(now), code(now+2), now, 10); len(got) != 0 {
		t.Errorf("codes one step apart but not consecutive matched at %v", got)
	}
}

func TestTOTPValidate(t *testing.T) {
	bad := []TOTP{{"MD5", 6, 30}, {"SHA1", 7, 30}, {"SHA1", 6, 45}, {}}
	for _, p := range bad {
		if p.Validate() == nil {
			t.Errorf("%+v was accepted", p)
		}
	}
	for _, p := range []TOTP{VirtualTOTP, {"SHA256", 8, 60}, {"SHA512", 6, 30}} {
		if err := p.Validate(); err != nil {
			t.Errorf("%+v: %v", p, err)
		}
	}
}

func TestKeyURI(t *testing.T) {
	key, err := VirtualTOTP.Key("caddy-mfa", "alice", []byte("12345678901234567890"))
	if err != nil {
		t.Fatal(err)
	}
	u := key.URL()
	for _, want := range []string{"otpauth://totp/caddy-mfa:alice?", "secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "issuer=caddy-mfa", "digits=6", "period=30", "algorithm=SHA1"} {
		if !strings.Contains(u, want) {
			t.Errorf("URI %q lacks %q", u, want)
		}
	}
}
