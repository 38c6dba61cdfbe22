package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

const accessLine = `{"level":"info","ts":1796198601.5,"logger":"http.log.access","msg":"handled request","request":{"remote_ip":"10.1.2.3","client_ip":"10.1.2.3","method":"DELETE","host":"app.example.com","uri":"/api/orders/42"},"status":200,"mfa_auth_type":"session","mfa_user":"alice","mfa_present":true,"mfa_age":60,"mfa_method":"virtual","mfa_decision":"allowed","mfa_policy":"api.json","mfa_sid":"FreshWrites"}`

// TestPolicyDiffStatuses: 0 when nothing changes, 1 with the changes printed (text and JSON),
// 2 for a bad policy, a missing log or one without the mfa_* fields.
func TestPolicyDiffStatuses(t *testing.T) {
	log := writeFile(t, "access.log", strings.Repeat(accessLine+"\n", 3))
	status, out, err := runStatus(t, policyDiffCommand(), runPolicyDiff, examplePolicy, examplePolicy, "--log", log)
	if status != 0 || err != nil || out != "0 of 3 replayed requests change decision\n" {
		t.Fatalf("same policy: %d %v\n%s", status, err, out)
	}
	noDeletes := writeFile(t, "new.json", `{"Statement": [{"Sid": "ReadOnly", "Effect": "Deny", "NotAction": ["GET", "HEAD"]}, {"Sid": "Reads", "Effect": "Allow", "Condition": {"Null": {"user:Id": "false"}}}]}`)
	status, out, err = runStatus(t, policyDiffCommand(), runPolicyDiff, examplePolicy, noDeletes, "--log", log)
	want := "     3  DELETE /api/orders/*  allowed -> explicitDeny  (../../examples/policy/api.json#FreshWrites -> " + noDeletes + "#ReadOnly)\n3 of 3 replayed requests change decision\n"
	if status != statusFinding || err == nil || out != want {
		t.Fatalf("stricter policy: %d %v\n%s\nwant\n%s", status, err, out, want)
	}
	status, out, _ = runStatus(t, policyDiffCommand(), runPolicyDiff, examplePolicy, noDeletes, "--log", log, "--json")
	var d struct {
		Lines, Replayed int
		Changes         []struct{ Method, Path, Old, New string }
	}
	if status != statusFinding || json.Unmarshal([]byte(out), &d) != nil || d.Lines != 3 || d.Replayed != 3 || len(d.Changes) != 1 || d.Changes[0].New != "explicitDeny" {
		t.Fatalf("--json: %d\n%s", status, out)
	}
	plain := writeFile(t, "plain.log", `{"level":"info","ts":1,"msg":"handled request","request":{"method":"GET","host":"a","uri":"/"},"status":200}`+"\n")
	for name, args := range map[string][]string{
		"no mfa fields": {examplePolicy, examplePolicy, "--log", plain},
		"missing log":   {examplePolicy, examplePolicy, "--log", filepath.Join(t.TempDir(), "none.log")},
		"bad policy":    {examplePolicy, writeFile(t, "bad.json", `{"Statement": []}`), "--log", log},
	} {
		status, _, err := runStatus(t, policyDiffCommand(), runPolicyDiff, args...)
		if status != statusBroken || err == nil {
			t.Errorf("%s: %d %v", name, status, err)
		}
		if name == "no mfa fields" && (err == nil || !strings.Contains(err.Error(), plain+": no line carries the mfa_* fields")) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
