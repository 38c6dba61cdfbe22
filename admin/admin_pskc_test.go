package admin_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/caddy-mfa/caddy-mfa/admin"
)

const testPSK = "12345678901234567890123456789012" // RFC 6030 figure 6's pre-shared key

// encryptedPSKC is RFC 6030's figure 6 (an AES-128-CBC encrypted seed with a MAC), made TOTP.
func encryptedPSKC(t *testing.T) string {
	raw, err := os.ReadFile("../factors/testdata/rfc6030-figure6.pskcxml")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Replace(string(raw), "pskc:hotp", "pskc:totp", 1)
}

// TestPSKCKeyTravelsInTheBody: the pre-shared key comes inside a JSON envelope; the old header
// (which Caddy's admin endpoint logs) is refused and imports nothing.
func TestPSKCKeyTravelsInTheBody(t *testing.T) {
	e := newEnv(t)
	a := admin.New(e.Ops)
	file := encryptedPSKC(t)
	w := adminSendRaw(a, "/mfa/devices/hardware", "application/pskc+xml", strings.NewReader(file), "X-PSKC-Key", testPSK)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "inside the body") {
		t.Fatalf("the key in a header: %d %s", w.Code, w.Body)
	}
	if all, _ := e.Ops.Devices.All(t.Context()); len(all) != 0 {
		t.Fatalf("a refused import left %d devices", len(all))
	}
	bad := []struct{ envelope, want string }{
		{`{"pskc": "x", "csv": "y"}`, "exactly one"},
		{`{"psk": "00"}`, "exactly one"},
		{`{"pskc": ` + quote(file) + `, "psk": "not hex"}`, "not hexadecimal"},
		{`{"pskc": ` + quote(file) + `, "psk": "` + testPSK + `", "extra": 1}`, "not one JSON object"},
		{`{"csv": "serial,secret\n", "psk": "00"}`, "only an encrypted PSKC"},
	}
	for _, b := range bad {
		w := adminSendRaw(a, "/mfa/devices/hardware", "application/json", strings.NewReader(b.envelope))
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), b.want) || strings.Contains(w.Body.String(), testPSK) {
			t.Errorf("%.60s: %d %s", b.envelope, w.Code, w.Body)
		}
	}
	body, _ := json.Marshal(map[string]string{"pskc": file, "psk": testPSK})
	w = adminSendRaw(a, "/mfa/devices/hardware", "application/json", bytes.NewReader(body))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"987654321"`) {
		t.Fatalf("the envelope: %d %s", w.Code, w.Body)
	}
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }
