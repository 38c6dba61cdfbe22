package e2e

import (
	"encoding/xml"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// policyCLI runs `caddy mfa policy args...` as CI would, with no Caddy running, and returns the
// exit status and what it printed.
func policyCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	out, err := exec.Command(binary, append([]string{"mfa", "policy"}, args...)...).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	}
	t.Fatalf("caddy mfa policy %v: %v", args, err)
	return 0, ""
}

// TestPolicyCommandsExitStatuses: the real binary's exit statuses are what a CI job reads:
// policy test 0 (the worked example), 1 (a case disagrees), 2 (a bad case file, naming the
// file, case and field); policy diff 1 when a decision changes and 2 for a log without the
// gate's fields. The JUnit report parses.
func TestPolicyCommandsExitStatuses(t *testing.T) {
	const pol, cases = "../examples/policy/api.json", "../examples/policy/api.cases.json"
	dir := t.TempDir()
	junit := filepath.Join(dir, "junit.xml")
	if status, out := policyCLI(t, "test", pol, "--cases", cases, "--junit", junit); status != 0 || !strings.Contains(out, "6 cases, 0 failed") {
		t.Fatalf("worked example: %d\n%s", status, out)
	}
	var report struct {
		Suites []struct {
			Tests int `xml:"tests,attr"`
		} `xml:"testsuite"`
	}
	if raw, err := os.ReadFile(junit); err != nil || xml.Unmarshal(raw, &report) != nil || len(report.Suites) != 1 || report.Suites[0].Tests != 6 {
		t.Fatalf("junit: %v %+v", err, report)
	}
	write := func(name, content string) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	wrong := write("wrong.json", `[{"name": "reads need MFA", "request": {"path": "/api/x"}, "context": {"user:Id": "a", "mfa:Present": false}, "expect": "implicitDeny"}]`)
	if status, out := policyCLI(t, "test", pol, "--cases", wrong); status != 1 || !strings.Contains(out, "FAIL reads need MFA: expected implicitDeny, got allowed") {
		t.Fatalf("disagreeing case: %d\n%s", status, out)
	}
	bad := write("bad.json", `[{"name": "typo", "request": {"path": "/api/x"}, "expect": "denied"}]`)
	if status, out := policyCLI(t, "test", pol, "--cases", bad); status != 2 || !strings.Contains(out, bad+`: case 0 ("typo"): expect: want one of`) {
		t.Fatalf("bad case file: %d\n%s", status, out)
	}
	log := write("access.log", `{"ts":1796198601.5,"request":{"client_ip":"10.1.2.3","method":"POST","host":"a","uri":"/api/orders"},"mfa_auth_type":"session","mfa_user":"a","mfa_present":true,"mfa_age":3000,"mfa_method":"sms","mfa_decision":"implicitDeny"}`+"\n")
	looser := write("looser.json", `{"Statement": {"Sid": "All", "Effect": "Allow", "Condition": {"Null": {"user:Id": "false"}}}}`)
	if status, out := policyCLI(t, "diff", pol, looser, "--log", log); status != 1 || !strings.Contains(out, "POST /api/orders  implicitDeny -> allowed  (no statement -> "+looser+"#All)") {
		t.Fatalf("diff: %d\n%s", status, out)
	}
	plain := write("plain.log", `{"ts":1796198601.5,"request":{"method":"GET","host":"a","uri":"/"},"status":200}`+"\n")
	if status, out := policyCLI(t, "diff", pol, looser, "--log", plain); status != 2 || !strings.Contains(out, "no line carries the mfa_* fields") {
		t.Fatalf("diff of a log without the fields: %d\n%s", status, out)
	}
}
