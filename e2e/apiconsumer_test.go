package e2e

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestSampleScript runs examples/mfa-session.sh, AWS's MFA sample scenario, against a fresh
// demo twice (the second run reuses the first's setup, with codes of later steps), then
// examples/getsessiontoken with the exports the script printed, then the script against
// another fresh demo with the first demo's saved setup, which it must notice and redo.
func TestSampleScript(t *testing.T) {
	state := filepath.Join(t.TempDir(), "mfa-session.env")
	runScript := func(n *node) string {
		cmd := exec.Command("bash", "../examples/mfa-session.sh")
		cmd.Env = append(os.Environ(), "SITE="+n.url, "STATE="+state)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "SAMPLE OK") {
			t.Fatalf("the sample script failed: %v\n%s", err, out)
		}
		return string(out)
	}
	n := startDemo(t)
	if out := runScript(n); !strings.Contains(out, "== setup") {
		t.Fatalf("the first run set nothing up:\n%s", out)
	}
	out := runScript(n)
	if !strings.Contains(out, "reusing the setup") {
		t.Fatalf("the second run did not reuse the setup:\n%s", out)
	}
	exports := regexp.MustCompile(`export MFA_ACCESS_KEY_ID=(\S+) MFA_SECRET_ACCESS_KEY=(\S+)`).FindStringSubmatch(out)
	sample := regexp.MustCompile(`-serial (\S+) -code .*oathtool --totp -b (\S+)\)`).FindStringSubmatch(out)
	if exports == nil || sample == nil {
		t.Fatalf("the script printed no exports for getsessiontoken:\n%s", out)
	}
	sampleBin := filepath.Join(t.TempDir(), "getsessiontoken")
	if out, err := exec.Command("go", "build", "-o", sampleBin, "../examples/getsessiontoken").CombinedOutput(); err != nil {
		t.Fatalf("building getsessiontoken: %v\n%s", err, out)
	}
	sampleOut := runSample(t, sampleBin, n.url, sample[1], sample[2], exports[1], exports[2])
	if !strings.Contains(sampleOut, "with MFA: 200 OK") {
		t.Fatalf("getsessiontoken with the script's exports:\n%s", sampleOut)
	}
	n.stop()
	if out := runScript(startDemo(t)); !strings.Contains(out, "setting up again") {
		t.Fatalf("a fresh demo with an old state file:\n%s", out)
	}
}

// runSample runs getsessiontoken with a code of the device seed. The script's two runs may have
// spent every code the server accepts now (this step's and its neighbours'): each code works once,
// and the server's clock is the real one, so the sample then waits for the next step's code.
func runSample(t *testing.T, bin, url, serial, seed, keyID, keySecret string) string {
	var out []byte
	for range 4 {
		now := time.Now()
		for _, ahead := range []time.Duration{0, 30 * time.Second} {
			run := exec.Command(bin, "-url", url, "-serial", serial, "-code", oathtool(t, seed, now.Add(ahead)))
			run.Env = append(os.Environ(), "MFA_ACCESS_KEY_ID="+keyID, "MFA_SECRET_ACCESS_KEY="+keySecret)
			if out, _ = run.CombinedOutput(); strings.Contains(string(out), "with MFA: 200 OK") {
				return string(out)
			}
		}
		time.Sleep(time.Until(now.Truncate(30 * time.Second).Add(30 * time.Second))) // the next step
	}
	return string(out)
}

// enrolDevices signs demo in and enrols virtual devices with the given names in that session
// (the first enable passes a factor, which adding the others needs). For each device the codes
// of the step of at and the one before are spent. It returns serial -> secret, in order.
func enrolDevices(t *testing.T, n *node, at time.Time, names ...string) (serials, secrets []string) {
	t.Helper()
	c := n.signIn(t, "demo")
	for _, name := range names {
		serial, secret := c.enrol(t, name, at)
		serials, secrets = append(serials, serial), append(secrets, secret)
	}
	return serials, secrets
}

// caddyCLI runs `caddy mfa ...` against the node's admin API.
func (n *node) caddyCLI(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"mfa"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("caddy mfa %v: %v\n%s%s", args, err, out, stderr)
	}
	return string(out)
}

// TestAPIConsumerWithCLI: an operator makes an access key with `caddy mfa access-key create`;
// the consumer runs `caddy mfa get-session-token` with an oathtool code, evals its export lines
// and calls the app with the token; the Go sample program does the same; revoke-sessions ends it.
func TestAPIConsumerWithCLI(t *testing.T) {
	n := startDemo(t)
	now := time.Now()
	serials, secrets := enrolDevices(t, n, now, "cli", "example")
	serial, secret, exampleSerial, exampleSecret := serials[0], secrets[0], serials[1], secrets[1]
	admin := "--address=" + strings.TrimPrefix(n.admin, "http://")

	out := n.caddyCLI(t, nil, "access-key", "create", "--user", "demo", admin)
	id, key := jsonField(t, out, "access_key_id"), jsonField(t, out, "secret_access_key")
	keyEnv := []string{"MFA_ACCESS_KEY_ID=" + id, "MFA_SECRET_ACCESS_KEY=" + key}

	out = n.caddyCLI(t, keyEnv, "get-session-token", "--url", n.url, "--serial", serial,
		"--code", oathtool(t, secret, now.Add(30*time.Second)), "--duration", "3600")
	exports := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		k, v, _ := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "=")
		exports[k] = v
	}
	if exports["MFA_AUTHENTICATED"] != "true" || exports["MFA_SESSION_TOKEN"] == "" || exports["MFA_SESSION_EXPIRATION"] == "" {
		t.Fatalf("export lines: %q", out)
	}
	c := newAPIClient(t, n.url)
	var page string
	if code := c.call("GET", "/", nil, &page, "Authorization", "Bearer "+exports["MFA_SESSION_TOKEN"]); code != http.StatusOK || !strings.Contains(page, "<dd>token</dd>") {
		t.Fatalf("with the CLI's token: %d", code)
	}

	run := exec.Command("go", "run", "../examples/getsessiontoken", "-url", n.url, "-serial", exampleSerial,
		"-code", oathtool(t, exampleSecret, now.Add(30*time.Second)))
	run.Env = append(os.Environ(), keyEnv...)
	if out, err := run.CombinedOutput(); err != nil || !strings.Contains(string(out), "with MFA: 200 OK") {
		t.Fatalf("the Go sample: %v\n%s", err, out)
	}

	n.caddyCLI(t, nil, "revoke-sessions", "--user", "demo", admin)
	if code := c.call("GET", "/", nil, nil, "Authorization", "Bearer "+exports["MFA_SESSION_TOKEN"]); code != http.StatusUnauthorized {
		t.Fatalf("a revoked token: %d", code)
	}
}

func jsonField(t *testing.T, raw, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	v, _ := m[name].(string)
	if v == "" {
		t.Fatalf("no %s in %s", name, raw)
	}
	return v
}
