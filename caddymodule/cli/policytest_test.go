package cli

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

const examplePolicy, exampleCases = "../../examples/policy/api.json", "../../examples/policy/api.cases.json"

// runStatus runs one `caddy mfa policy ...` body with args and returns its exit status and output.
func runStatus(t *testing.T, cmd *cobra.Command, run statusRun, args ...string) (int, string, error) {
	t.Helper()
	cmd.Flags().String("address", "localhost:1", "")
	var out bytes.Buffer
	cmd.SetOut(&out)
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	status, err := run(cmd, cmd.Flags().Args())
	return status, out.String(), err
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestPolicyTestExample: the worked example of docs/policy.md passes, one line a case.
func TestPolicyTestExample(t *testing.T) {
	junit := filepath.Join(t.TempDir(), "report.xml")
	status, out, err := runStatus(t, policyTestCommand(), runPolicyTest, examplePolicy, "--cases", exampleCases, "--junit", junit)
	if status != 0 || err != nil {
		t.Fatalf("status %d, %v:\n%s", status, err, out)
	}
	for _, want := range []string{
		"ok   a signed-in user reads: expected allowed, got allowed (../../examples/policy/api.json#Reads)",
		"ok   an anonymous read is asked to sign in: expected implicitDeny, remedy login, got implicitDeny, remedy login (no statement)",
		"ok   a delete from outside the office is refused: expected explicitDeny, remedy forbidden, got explicitDeny, remedy forbidden (../../examples/policy/api.json#NoDeletesFromOutside)",
		"6 cases, 0 failed",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	report := readJUnit(t, junit)
	if len(report.Suites) != 1 || report.Suites[0].Tests != 6 || report.Suites[0].Failures != 0 || len(report.Suites[0].Cases) != 6 {
		t.Errorf("junit: %+v", report)
	}
}

type parsedJUnit struct {
	Suites []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Cases    []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
			} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// readJUnit parses a report as a CI system would, with encoding/xml.
func readJUnit(t *testing.T, file string) parsedJUnit {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var r parsedJUnit
	if err := xml.Unmarshal(raw, &r); err != nil {
		t.Fatalf("junit does not parse: %v\n%s", err, raw)
	}
	return r
}

// TestPolicyTestDisagreement: a case that disagrees is status 1, named in the output and the
// JUnit report; the others still run.
func TestPolicyTestDisagreement(t *testing.T) {
	cases := writeFile(t, "cases.json", `[
	 {"name": "reads <need> & MFA", "request": {"method": "GET", "path": "/api/x"}, "context": {"user:Id": "a", "mfa:Present": false}, "expect": "explicitDeny"},
	 {"name": "writes", "request": {"method": "POST", "path": "/api/x"}, "context": {"user:Id": "a", "mfa:Present": true}, "expect": "allowed"},
	 {"name": "wrong remedy", "request": {"method": "POST", "path": "/api/x"}, "context": {"user:Id": "a", "mfa:Present": false}, "expect": "implicitDeny", "remedy": "forbidden"}]`)
	junit := filepath.Join(t.TempDir(), "report.xml")
	status, out, err := runStatus(t, policyTestCommand(), runPolicyTest, examplePolicy, "--cases", cases, "--junit", junit)
	if status != statusFinding || err == nil || err.Error() != "2 of 3 cases disagree" {
		t.Fatalf("status %d, %v:\n%s", status, err, out)
	}
	for _, want := range []string{
		"FAIL reads <need> & MFA: expected explicitDeny, got allowed (../../examples/policy/api.json#Reads)",
		"ok   writes: expected allowed, got allowed (../../examples/policy/api.json#FreshWrites)",
		"FAIL wrong remedy: expected implicitDeny, remedy forbidden, got implicitDeny, remedy mfa (no statement)",
		"3 cases, 2 failed",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	r := readJUnit(t, junit)
	s := r.Suites[0]
	if s.Tests != 3 || s.Failures != 2 || s.Cases[0].Name != "reads <need> & MFA" || s.Cases[0].Failure == nil || s.Cases[1].Failure != nil ||
		!strings.Contains(s.Cases[2].Failure.Message, "remedy mfa") {
		t.Errorf("junit: %+v", r)
	}
}

// TestPolicyTestBadFiles: a bad file is status 2, and the message names the file, the case and
// the field.
func TestPolicyTestBadFiles(t *testing.T) {
	goodCases := exampleCases
	for name, tc := range map[string]struct{ policy, cases, want string }{
		"not json":       {examplePolicy, `[{"name": "x",`, "cases FILE: want a JSON list of cases"},
		"no cases":       {examplePolicy, `[]`, "cases FILE: no cases"},
		"unknown field":  {examplePolicy, `[{"name": "x", "request": {"path": "/"}, "expect": "allowed", "expected": "allowed"}]`, `unknown field "expected"`},
		"bad expect":     {examplePolicy, `[{"name": "x", "request": {"path": "/"}, "expect": "Allow"}]`, `cases FILE: case 0 ("x"): expect: want one of [allowed explicitDeny implicitDeny], got "Allow"`},
		"bad remedy":     {examplePolicy, `[{"name": "x", "request": {"path": "/"}, "expect": "allowed", "remedy": "2fa"}]`, `case 0 ("x"): remedy: want one of`},
		"no name":        {examplePolicy, `[{"name": "a", "request": {"path": "/"}, "expect": "allowed"}, {"request": {"path": "/"}, "expect": "allowed"}]`, "case 1: name: must not be empty"},
		"same name":      {examplePolicy, `[{"name": "a", "request": {"path": "/"}, "expect": "allowed"}, {"name": "a", "request": {"path": "/"}, "expect": "allowed"}]`, `case 1 ("a"): name: case 0 has the same name`},
		"bad path":       {examplePolicy, `[{"name": "p", "request": {"path": "api"}, "expect": "allowed"}]`, `case 0 ("p"): request.path: want a path starting with /`},
		"bad source ip":  {examplePolicy, `[{"name": "p", "request": {"path": "/", "source_ip": "10.0.0"}, "expect": "allowed"}]`, `case 0 ("p"): request.source_ip`},
		"unknown key":    {examplePolicy, `[{"name": "k", "request": {"path": "/"}, "context": {"mfa:age": 3}, "expect": "allowed"}]`, `case 0 ("k"): context: unknown key "mfa:age": did you mean mfa:Age?`},
		"bad age":        {examplePolicy, `[{"name": "k", "request": {"path": "/"}, "context": {"user:Id": "a", "mfa:Age": "old"}, "expect": "allowed"}]`, `case 0 ("k"): context mfa:Age: want whole seconds`},
		"bad policy":     {`{"Statement": [{"Effect": "Permit"}]}`, goodCases, "statement #1: Effect: want Allow or Deny"},
		"missing policy": {"", goodCases, "no such file"},
		"missing cases":  {examplePolicy, "", "no such file"},
	} {
		t.Run(name, func(t *testing.T) {
			pol, cases := examplePolicy, goodCases
			if tc.policy != examplePolicy {
				pol = filepath.Join(t.TempDir(), "missing.json")
				if tc.policy != "" {
					pol = writeFile(t, "policy.json", tc.policy)
				}
			}
			if tc.cases != goodCases {
				cases = filepath.Join(t.TempDir(), "missing.json")
				if tc.cases != "" {
					cases = writeFile(t, "cases.json", tc.cases)
				}
			}
			status, out, err := runStatus(t, policyTestCommand(), runPolicyTest, pol, "--cases", cases)
			want := strings.ReplaceAll(tc.want, "FILE", cases)
			if status != statusBroken || err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("status %d, %v (want %q):\n%s", status, err, want, out)
			}
		})
	}
}

// TestPolicyTestFilesOrAddress: files and an explicit --address together are ambiguous.
func TestPolicyTestFilesOrAddress(t *testing.T) {
	status, _, err := runStatus(t, policyTestCommand(), runPolicyTest, examplePolicy, "--cases", exampleCases, "--address", "localhost:2019")
	if status != statusBroken || err == nil || !strings.Contains(err.Error(), "not both") {
		t.Fatalf("status %d, %v", status, err)
	}
}

// TestDocsCIJobIsTheExample: the CI job docs/policy.md shows is the file it tells people to copy.
func TestDocsCIJobIsTheExample(t *testing.T) {
	docs, err := os.ReadFile("../../docs/policy.md")
	if err != nil {
		t.Fatal(err)
	}
	job, err := os.ReadFile("../../examples/policy/github-actions.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(docs, append(append([]byte("```yaml\n"), job...), "```"...)) {
		t.Error("docs/policy.md's CI job differs from examples/policy/github-actions.yml")
	}
}
