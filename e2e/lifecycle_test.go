package e2e

import (
	"encoding/base32"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDeviceLifecycle: hardware tokens imported with the CLI (8 digits at 60 s, and 6 at 30 s,
// codes from oathtool), enabled by the user and by an operator, recovery codes, a lost-device
// reset, the credential report; then a scan of the log and the storage for every secret used.
func TestDeviceLifecycle(t *testing.T) {
	n := startDemo(t)
	admin := "--address=" + strings.TrimPrefix(n.admin, "http://")
	secretA, secretB := importTwoTokensWithTheCLI(t, n, admin)
	now := time.Now()
	eight := []string{"--totp=SHA256", "--digits=8", "--time-step-size=60s"}

	// The user enables the 8-digit token themselves.
	c := n.signIn(t, "demo")
	signedInCSRF := c.csrf
	var enabled struct {
		CSRFToken string `json:"csrf_token"`
	}
	codesA := []string{oathtool(t, secretA, now.Add(-time.Minute), eight...), oathtool(t, secretA, now, eight...)}
	if code := c.call("POST", "/.mfa/api/devices/GAHT10000001/enable", map[string]string{"code1": codesA[0], "code2": codesA[1]}, &enabled); code != http.StatusOK {
		t.Fatalf("enable the 8-digit token: %d", code)
	}
	c.csrf = enabled.CSRFToken
	// An operator enables the 6-digit one for the same user.
	codesB := []string{oathtool(t, secretB, now.Add(-30*time.Second)), oathtool(t, secretB, now)}
	n.caddyCLI(t, nil, "device", "enable", "--user", "demo", "--serial", "GAHT10000002", "--code1", codesB[0], "--code2", codesB[1], admin)
	if out := n.caddyCLI(t, nil, "devices", "--user", "demo", admin); strings.Count(out, `"enabled": true`) != 2 {
		t.Fatalf("demo's devices: %s", out)
	}
	// Sign in again with the 60 s token's next code.
	c2 := n.signIn(t, "demo")
	nextA := oathtool(t, secretA, now.Add(time.Minute), eight...)
	if code := c2.call("POST", "/.mfa/api/verify", map[string]string{"serial": "GAHT10000001", "code": nextA}, nil); code != http.StatusOK {
		t.Fatalf("verify with the 8-digit token: %d", code)
	}

	recoveryCodes, lost := signInWithARecoveryCode(t, n, c)

	resetThenReport(t, n, admin, lost)
	n.stop()
	assertNoSecrets(t, n, append([]string{secretA, secretB, nextA, codesA[0], codesA[1], codesB[0], codesB[1], signedInCSRF, c2.csrf, lost.csrf}, recoveryCodes...)...)
}

// importTwoTokensWithTheCLI imports GAHT10000001 (SHA256, 8 digits, 60 s) and GAHT10000002
// (SHA1, 6 digits, 30 s) with `caddy mfa hardware import`, checks they are listed unassigned,
// and returns their base32 secrets.
func importTwoTokensWithTheCLI(t *testing.T, n *node, admin string) (secretA, secretB string) {
	t.Helper()
	secretA = base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte("e2e-hardware-seed-A-32-bytes-long"))
	secretB = base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte("e2e-hardware-seed-B-20b"))
	file := filepath.Join(t.TempDir(), "tokens.csv")
	csv := fmt.Sprintf("serial,secret,algorithm,digits,period\nGAHT10000001,%s,SHA256,8,60\nGAHT10000002,%s,SHA1,6,30\n", secretA, secretB)
	if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := n.caddyCLI(t, nil, "hardware", "import", file, admin); !strings.Contains(out, `"imported": 2`) {
		t.Fatalf("import: %s", out)
	}
	if out := n.caddyCLI(t, nil, "devices", "--assignment", "Unassigned", admin); !strings.Contains(out, "GAHT10000001") {
		t.Fatalf("unassigned devices: %s", out)
	}
	return secretA, secretB
}

// signInWithARecoveryCode has c (signed in with a factor) get recovery codes, then signs in on a
// new client as if the phone were gone and passes with the first code; it returns the codes and
// that client.
func signInWithARecoveryCode(t *testing.T, n *node, c *apiClient) (codes []string, lost *apiClient) {
	t.Helper()
	// Recovery codes, then the phone-is-gone path.
	var rc struct{ Codes []string }
	if code := c.call("POST", "/.mfa/api/recovery-codes", nil, &rc); code != http.StatusOK || len(rc.Codes) != 10 {
		t.Fatalf("recovery codes: %d", code)
	}
	lost = n.signIn(t, "demo")
	var who struct {
		MFA struct{ Method string } `json:"mfa"`
	}
	if code := lost.call("POST", "/.mfa/api/verify", map[string]string{"code": rc.Codes[0]}, nil); code != http.StatusOK {
		t.Fatalf("recovery code: %d", code)
	}
	lost.call("GET", "/.mfa/api/whoami", nil, &who)
	if who.MFA.Method != "recovery" {
		t.Fatalf("mfa method %q", who.MFA.Method)
	}
	return rc.Codes, lost
}

// resetThenReport has the operator reset demo, checks that lost's session ends and the next
// sign-in must enrol, then checks the credential report and the audit events in the log.
func resetThenReport(t *testing.T, n *node, admin string, lost *apiClient) {
	t.Helper()
	// The operator resets the user: every session ends, the next sign-in enrols again.
	n.caddyCLI(t, nil, "reset", "--user", "demo", admin)
	if code := lost.call("GET", "/", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("a session after reset: %d", code)
	}
	var again struct {
		EnrollmentRequired bool `json:"enrollment_required"`
	}
	newAPIClient(t, n.url).call("POST", "/.mfa/api/login", map[string]string{"username": "demo", "password": "demo"}, &again)
	if !again.EnrollmentRequired {
		t.Fatal("after reset the user must enrol again")
	}
	if out := n.caddyCLI(t, nil, "report", admin); !strings.HasPrefix(out, "user,groups,created,password_enabled,mfa_active") || !strings.Contains(out, "demo,developers") {
		t.Fatalf("report: %s", out)
	}
	for _, event := range []string{"device_enabled", "factor_passed", "recovery_code_used", "user_reset", "hardware_imported"} {
		if !strings.Contains(n.log.String(), `"msg":"`+event+`"`) {
			t.Errorf("no %s event in the log", event)
		}
	}
}
