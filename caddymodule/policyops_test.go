package caddymodule

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// policyOpsConfig is a site under the worked example's policy (examples/policy/api.json) with a
// JSON access log in logFile.
func policyOpsConfig(policyFile, logFile string) string {
	return fmt.Sprintf(`{
	admin {$MFA_TEST_ADMIN}
	http_port %d
	storage file_system %s
	mfa {
		enrollment optional
		user alice $2a$04$yDkr1gRCtNQojfOxyVfbx.uKfwuhdsC.MfBohx1nJLI5Gn91mCrgS
	}
}
http://localhost:%d {
	log {
		output file %s
		format json
	}
	@gated path /api/* /.mfa/*
	mfa @gated {
		policy %s
	}
	respond "ok"
}
`, integrationPort, dataDir, integrationPort, logFile, policyFile)
}

// accessLogEntries waits for n entries in Caddy's access log (written after the response is
// sent) and returns them.
func accessLogEntries(t *testing.T, logFile string, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		raw, _ := os.ReadFile(logFile)
		var entries []map[string]any
		sc := bufio.NewScanner(bytes.NewReader(raw))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var e map[string]any
			if json.Unmarshal(sc.Bytes(), &e) == nil && e["request"] != nil {
				entries = append(entries, e)
			}
		}
		if len(entries) >= n {
			return entries
		}
		if time.Now().After(deadline) {
			t.Fatalf("the access log has %d entries, want %d:\n%s", len(entries), n, raw)
		}
		time.Sleep(20 * time.Millisecond) // another goroutine writes the log: no clock to fake
	}
}

func entryFor(t *testing.T, entries []map[string]any, method, uri string) map[string]any {
	t.Helper()
	for _, e := range entries {
		r := e["request"].(map[string]any)
		if r["method"] == method && r["uri"] == uri {
			return e
		}
	}
	t.Fatalf("no access log entry for %s %s", method, uri)
	return nil
}

// TestAccessLogCarriesTheGatesView: each gated request's access log entry says what the gate
// saw and decided (mfa_*), for an allowed and a denied request, and never holds the caller's
// session cookie, in any spelling.
func TestAccessLogCarriesTheGatesView(t *testing.T) {
	dir := t.TempDir()
	logFile, policyFile := filepath.Join(dir, "access.log"), filepath.Join(dir, "api.json")
	copyFile(t, "../examples/policy/api.json", policyFile)
	startCaddy(t, policyOpsConfig(policyFile, logFile))
	b := newBrowser(t)
	if code, _, _ := b.do("GET", "/api/orders/7", "", "Accept", "application/json"); code != http.StatusUnauthorized {
		t.Fatalf("anonymous read: %d", code)
	}
	code, _, body := b.do("POST", "/.mfa/api/login", `{"username":"alice","password":"integration"}`)
	if code != http.StatusOK {
		t.Fatalf("login: %d %s", code, body)
	}
	if code, _, body := b.do("GET", "/api/orders/42", ""); code != http.StatusOK {
		t.Fatalf("signed-in read: %d %s", code, body)
	}
	if code, _, _ := b.do("POST", "/api/orders", "{}", "Accept", "application/json"); code != http.StatusUnauthorized {
		t.Fatalf("write without MFA: %d", code)
	}
	entries := accessLogEntries(t, logFile, 4)
	anon, read, write := entryFor(t, entries, "GET", "/api/orders/7"), entryFor(t, entries, "GET", "/api/orders/42"), entryFor(t, entries, "POST", "/api/orders")
	wantFields(t, "anonymous read", anon, map[string]any{"mfa_auth_type": "anonymous", "mfa_decision": "implicitDeny"},
		"mfa_user", "mfa_present", "mfa_age", "mfa_method", "mfa_policy", "mfa_sid", "mfa_secure")
	wantFields(t, "read", read, map[string]any{"mfa_auth_type": "session", "mfa_user": "alice", "mfa_present": false,
		"mfa_decision": "allowed", "mfa_policy": policyFile, "mfa_sid": "Reads"}, "mfa_age", "mfa_method")
	wantFields(t, "write", write, map[string]any{"mfa_auth_type": "session", "mfa_present": false, "mfa_decision": "implicitDeny"},
		"mfa_policy", "mfa_sid")
	raw, _ := os.ReadFile(logFile)
	cookies := b.client.Jar.Cookies(siteURL())
	if len(cookies) == 0 {
		t.Fatal("the browser holds no session cookie: the search below would prove nothing")
	}
	for _, c := range cookies {
		for _, spelling := range []string{c.Value, c.Value[:24], strings.ReplaceAll(c.Value, ".", "%2E")} {
			if bytes.Contains(raw, []byte(spelling)) {
				t.Errorf("the access log holds cookie %s's value (%q)", c.Name, spelling)
			}
		}
	}
	if bytes.Contains(raw, []byte("integration")) {
		t.Error("the access log holds the password")
	}
	checkReplay(t, logFile, policyFile)
	checkStats(t)
	checkLiveCases(t)
}

// checkReplay replays the site's own access log: the same policy changes nothing; one that
// demands MFA for reads turns alice's read into a deny.
func checkReplay(t *testing.T, logFile, policyFile string) {
	out, err := runCLI(t, "policy", "diff", policyFile, policyFile, "--log", logFile)
	if err != nil || !strings.Contains(out, "0 of 3 replayed requests change decision") || strings.Contains(out, "note:") {
		t.Fatalf("diff with itself: %v\n%s", err, out)
	}
	raw, _ := os.ReadFile(policyFile)
	stricter := filepath.Join(t.TempDir(), "stricter.json")
	if err := os.WriteFile(stricter, bytes.Replace(raw, []byte(`"Null": {"user:Id": "false"}`), []byte(`"Bool": {"mfa:Present": "true"}`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, "policy", "diff", policyFile, stricter, "--log", logFile, "--json")
	var d struct {
		Replayed int
		Changes  []map[string]any
	}
	if err == nil || json.Unmarshal([]byte(out), &d) != nil || d.Replayed != 3 || len(d.Changes) != 1 {
		t.Fatalf("diff: %v\n%s", err, out)
	}
	want := map[string]any{"method": "GET", "path": "/api/orders/*", "old": "allowed", "new": "implicitDeny", "old_statement": policyFile + "#Reads", "count": 1.0}
	for k, v := range want {
		if d.Changes[0][k] != v {
			t.Errorf("diff change %s: %v, want %v", k, d.Changes[0][k], v)
		}
	}
}

// checkStats: the admin API and the metrics count what each statement decided; the CLI lists
// those that decided nothing.
func checkStats(t *testing.T) {
	out, err := runCLI(t, "policy", "stats")
	if err != nil || !strings.Contains(out, "\tFreshWrites\tAllow\n") || !strings.Contains(out, "\tNoDeletesFromOutside\tDeny\n") ||
		strings.Contains(out, "Reads") || !strings.Contains(out, "2 of 3 statements decided no request since ") {
		t.Fatalf("stats: %v\n%s", err, out)
	}
	if out, err = runCLI(t, "policy", "stats", "--all"); err != nil || !strings.Contains(out, "\tReads\tAllow\t1\n") {
		t.Fatalf("stats --all: %v\n%s", err, out)
	}
	code, metrics := adminRequest(t, "GET", "/metrics", "")
	if code != http.StatusOK || !strings.Contains(metrics, `caddy_mfa_statement_matches_total{effect="Allow",policy="`) ||
		!strings.Contains(metrics, `sid="Reads"} 1`) || !strings.Contains(metrics, `sid="FreshWrites"} 0`) {
		t.Errorf("metrics: %d\n%s", code, metrics)
	}
}

// checkLiveCases runs cases against the live site's route (no policy files): one that agrees
// and, in a second file, one that does not.
func checkLiveCases(t *testing.T) {
	host := fmt.Sprintf("localhost:%d", integrationPort)
	cases := filepath.Join(t.TempDir(), "cases.json")
	write := func(expect string) {
		c := fmt.Sprintf(`[{"name": "write", "request": {"method": "POST", "host": %q, "path": "/api/orders"},
			"context": {"user:Id": "alice", "mfa:Present": true, "mfa:Age": 60}, "expect": %q}]`, host, expect)
		if err := os.WriteFile(cases, []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("allowed")
	if out, err := runCLI(t, "policy", "test", "--cases", cases); err != nil || !strings.Contains(out, "ok   write: expected allowed, got allowed (") {
		t.Fatalf("live cases: %v\n%s", err, out)
	}
	write("explicitDeny")
	if out, err := runCLI(t, "policy", "test", "--cases", cases); err == nil || !strings.Contains(out, "FAIL write: expected explicitDeny, got allowed") {
		t.Fatalf("a live case that disagrees: %v\n%s", err, out)
	}
}

// wantFields checks an entry's fields, and that the absent ones are absent.
func wantFields(t *testing.T, what string, entry map[string]any, want map[string]any, absent ...string) {
	t.Helper()
	for k, v := range want {
		if entry[k] != v {
			t.Errorf("%s: %s is %v, want %v (entry %v)", what, k, entry[k], v, entry)
		}
	}
	for _, k := range absent {
		if v, ok := entry[k]; ok {
			t.Errorf("%s: %s is %v, want it absent", what, k, v)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	raw, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestAccessLogTwoGates: with two mfa handlers on a request, its entry holds each mfa_* field
// once, the last gate's.
func TestAccessLogTwoGates(t *testing.T) {
	dir := t.TempDir()
	logFile, all, ops := filepath.Join(dir, "access.log"), filepath.Join(dir, "all.json"), filepath.Join(dir, "ops.json")
	writePolicy(t, all, `{"Statement": {"Sid": "SignedIn", "Effect": "Allow", "Condition": {"Null": {"user:Id": "false"}}}}`)
	writePolicy(t, ops, `{"Statement": [{"Sid": "OpsOnly", "Effect": "Deny", "Condition": {"StringNotEquals": {"user:Groups": "ops"}}},
		{"Sid": "SignedIn", "Effect": "Allow", "Condition": {"Null": {"user:Id": "false"}}}]}`)
	startCaddy(t, fmt.Sprintf(`{
	admin {$MFA_TEST_ADMIN}
	http_port %d
	storage file_system %s
	mfa {
		enrollment optional
		user alice $2a$04$yDkr1gRCtNQojfOxyVfbx.uKfwuhdsC.MfBohx1nJLI5Gn91mCrgS
	}
}
http://localhost:%d {
	log {
		output file %s
		format json
	}
	mfa {
		policy %s
	}
	mfa /ops/* {
		policy %s
	}
	respond "ok"
}
`, integrationPort, dataDir, integrationPort, logFile, all, ops))
	b := newBrowser(t)
	if code, _, body := b.do("POST", "/.mfa/api/login", `{"username":"alice","password":"integration"}`); code != http.StatusOK {
		t.Fatalf("login: %d %s", code, body)
	}
	if code, _, _ := b.do("GET", "/ops/x", "", "Accept", "application/json"); code == http.StatusOK {
		t.Fatal("alice is not in ops")
	}
	entry := entryFor(t, accessLogEntries(t, logFile, 2), "GET", "/ops/x")
	if entry["mfa_sid"] != "OpsOnly" || entry["mfa_policy"] != ops || entry["mfa_decision"] != "explicitDeny" {
		t.Errorf("the entry does not hold the second gate's refusal: %v", entry)
	}
	raw, _ := os.ReadFile(logFile)
	for _, line := range bytes.Split(raw, []byte("\n")) {
		if bytes.Contains(line, []byte(`"/ops/x"`)) && bytes.Count(line, []byte(`"mfa_decision"`)) != 1 {
			t.Errorf("mfa_decision is not there once: %s", line)
		}
	}
}

func writePolicy(t *testing.T, file, doc string) {
	t.Helper()
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
}
