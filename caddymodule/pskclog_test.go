package caddymodule

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddy-mfa/caddy-mfa/caddymodule/cli"
	"github.com/spf13/cobra"
)

// loggedConfig writes Caddy's whole log, the admin endpoint's included, at debug level to logFile.
func loggedConfig(storage, logFile string) string {
	return fmt.Sprintf(`{
	admin {$MFA_TEST_ADMIN}
	http_port %d
	storage file_system %s
	log {
		output file %s
		format json
		level DEBUG
	}
	mfa {
		user alice $2a$04$yDkr1gRCtNQojfOxyVfbx.uKfwuhdsC.MfBohx1nJLI5Gn91mCrgS
	}
}
http://localhost:%d {
	mfa
	respond "ok"
}
`, integrationPort, storage, logFile, integrationPort)
}

// runCLI runs `caddy mfa args...` in this process.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := &cobra.Command{Use: "mfa", SilenceUsage: true, SilenceErrors: true}
	cli.Build(root)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append(args, "--address", adminAddress))
	err := root.Execute()
	return out.String(), err
}

// TestPSKCKeyStaysOutOfTheLogs imports an encrypted PSKC file with `caddy mfa hardware import
// --psk` and searches Caddy's whole log, debug level, for the key in every spelling.
func TestPSKCKeyStaysOutOfTheLogs(t *testing.T) {
	const psk = "12345678901234567890123456789012"
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	startCaddy(t, loggedConfig(dataDir, logFile))
	raw, err := os.ReadFile("../factors/testdata/rfc6030-figure6.pskcxml")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "tokens.pskcxml")
	if err := os.WriteFile(file, bytes.Replace(raw, []byte("pskc:hotp"), []byte("pskc:totp"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "hardware", "import", file, "--psk", psk)
	if err != nil || !strings.Contains(out, `"imported": 1`) {
		t.Fatalf("import: %v %s", err, out)
	}
	t.Cleanup(func() { adminRequest(t, "DELETE", "/mfa/devices/987654321", "") })
	logged, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(logged, []byte(`/mfa/devices/hardware`)) {
		t.Fatalf("the log did not record the import request, so it proves nothing:\n%s", logged)
	}
	key, _ := hex.DecodeString(psk)
	for _, spelling := range []string{psk, strings.ToUpper(psk), base64.StdEncoding.EncodeToString(key), base64.RawURLEncoding.EncodeToString(key)} {
		if bytes.Contains(bytes.ToLower(logged), bytes.ToLower([]byte(spelling))) {
			t.Errorf("the log holds the pre-shared key (%s)", spelling)
		}
	}
	if bytes.Contains(logged, key) {
		t.Error("the log holds the pre-shared key's bytes")
	}
	// The old way, the key in a header, is refused.
	other := strings.Repeat("ab", 16)
	headers := http.Header{"Content-Type": {"application/pskc+xml"}, "X-Pskc-Key": {other}}
	if _, err := runAdmin(headers, raw); err == nil || !strings.Contains(err.Error(), "inside the body") {
		t.Fatalf("the key in a header: %v", err)
	}
}

func runAdmin(headers http.Header, body []byte) (int, error) {
	req, _ := http.NewRequest("POST", adminURL+"/mfa/devices/hardware", bytes.NewReader(body))
	req.Header = headers
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var msg bytes.Buffer
	_, _ = msg.ReadFrom(resp.Body)
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("%d %s", resp.StatusCode, msg.String())
	}
	return resp.StatusCode, nil
}

func adminRequest(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, adminURL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}
