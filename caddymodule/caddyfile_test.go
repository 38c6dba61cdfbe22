package caddymodule

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

var update = flag.Bool("update", false, "rewrite the adapt golden files")

func adapt(t *testing.T, src string) ([]byte, error) {
	t.Helper()
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(src), map[string]any{"filename": "Caddyfile"})
	return out, err
}

// TestAdaptGolden adapts every Caddyfile form under testdata/adapt and compares the JSON with
// its golden file (go test -run TestAdaptGolden -update rewrites them).
func TestAdaptGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/adapt/*.caddyfile")
	if len(files) == 0 {
		t.Fatal("no adapt cases")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			src, _ := os.ReadFile(file)
			out, err := adapt(t, string(src))
			if err != nil {
				t.Fatal(err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, out, "", "\t"); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			golden := strings.TrimSuffix(file, ".caddyfile") + ".json"
			if *update {
				if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(pretty.Bytes(), want) {
				t.Fatalf("adapted JSON differs from %s:\n%s", golden, pretty.String())
			}
		})
	}
}

// TestCaddyfileErrorsNameTheKey: every bad value is refused when the Caddyfile is adapted, and
// the message names the key.
func TestCaddyfileErrorsNameTheKey(t *testing.T) {
	cases := []struct{ global, directive, want string }{
		{global: "bogus 1", want: `unknown mfa option "bogus"`},
		{global: "max_devices many", want: "max_devices"},
		{global: "max_devices 0", want: "max_devices: 0 is not between 1 and 100"},
		{global: "totp {\n\t\tresync_window 0\n\t}", want: "resync_window: 0 is not 1 or more"},
		{global: "lockout {\n\t\tmax_failures 0\n\t}", want: "max_failures: 0 is not 1 or more"},
		{global: "lockout {\n\t\tmax_failures -1\n\t}", want: "max_failures: -1 is not 1 or more"},
		{global: "max_devices -3", want: "max_devices: -3 is not between 1 and 100"},
		{global: "max_devices 101", want: "max_devices: 101 is not between 1 and 100"},
		{global: "enrollment maybe", want: "enrollment"},
		{global: "storage s3", want: "storage"},
		{global: "storage redis", want: "storage: want caddy, or redis <url>"},
		{global: "totp {\n skew x\n}", want: "skew"},
		{global: "totp {\n window 3\n}", want: `totp: unknown key "window"`},
		{global: "session {\n idle forever\n}", want: "idle"},
		{global: "lockout {\n base_delay -5s\n}", want: "base_delay"},
		{global: "user alice", want: "wrong argument count"},
		{global: "user alice $2a$14$hashhashhash {\n roles admin\n}", want: `user alice: unknown key "roles"`},
		{global: "sms {\n code_ttl 5m\n}", want: "sms: webhook is required"},
		{global: "issuer a b", want: "issuer"},
		{global: "role deployer", want: "role deployer: trust: a trust policy file is required"},
		{global: "role deployer {\n policy p.json\n}", want: "role deployer: trust"},
		{global: "role deployer {\n trust t.json\n max_duration soon\n}", want: "role deployer: max_duration"},
		{global: "role deployer {\n trust t.json\n ttl 1h\n}", want: `role deployer: unknown key "ttl"`},
		{global: "role a b {\n trust t.json\n}", want: "wrong argument count"},
		{directive: "require login", want: "require"},
		{directive: "methods fingerprint", want: `methods: unknown method "fingerprint"`},
		{directive: "max_age soon", want: "max_age"},
		{directive: "frobnicate", want: `unknown mfa subdirective "frobnicate"`},
		{directive: "allow_access_keys yes", want: "wrong argument count"},
		{directive: "remember_device forever", want: "remember_device"},
		{directive: "remember_device 0s", want: "remember_device"},
		{directive: "audience Shared.Example", want: `audience: "Shared.Example"`},
		{directive: "audience a b", want: "audience: want one value"},
	}
	for _, c := range cases {
		src := "{\n\tmfa {\n" + c.global + "\n\t}\n}\n:8080 {\n\tmfa {\n" + c.directive + "\n\t}\n}\n"
		_, err := adapt(t, src)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q%q: error %v, want one containing %q", c.global, c.directive, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "$2a$") {
			t.Errorf("%q: the error shows the password hash: %v", c.global, err)
		}
	}
}

// TestValidateNamesTheKey covers values that adapt but make no sense (JSON configs skip the
// Caddyfile's checks): caddy validate reports them with the key's name.
func TestValidateNamesTheKey(t *testing.T) {
	neg, zero, many := -1, 0, 1000
	cases := []struct {
		app  App
		want string
	}{
		{App{MaxDevices: &many}, "max_devices: 1000"},
		{App{MaxDevices: &zero}, "max_devices: 0 is not between 1 and 100"},
		{App{MaxDevices: &neg}, "max_devices: -1"},
		{App{Enrollment: "sometimes"}, "enrollment"},
		{App{Storage: &StorageConfig{Backend: "s3"}}, "storage"},
		{App{Storage: &StorageConfig{Backend: "redis"}}, "a URL is needed"},
		{App{TOTP: &TOTPConfig{Skew: &neg}}, "skew"},
		{App{TOTP: &TOTPConfig{ResyncWindow: 1000}}, "resync_window"},
		{App{Session: &SessionConfig{Idle: 100, Absolute: 10}}, "idle"},
		{App{SessionTokens: &SessionTokensConfig{Min: 100, Max: 10}}, "session_tokens"},
		{App{Lockout: &LockoutConfig{MaxFailures: 1000}}, "max_failures"},
		{App{Users: []UserConfig{{Name: "a b", PasswordHash: "x"}}}, "user name"},
		{App{SMS: &SMSConfig{Webhook: "ftp://x"}}, "sms webhook"},
		{App{WebAuthn: &WebAuthnConfig{RPID: "example.com", Origins: []string{"https://evil.net"}}}, "not on rp_id"},
		{App{WebAuthn: &WebAuthnConfig{RPID: "example.com", Origins: []string{"http://example.com"}}}, "HTTPS"},
		{App{WebAuthn: &WebAuthnConfig{RPID: "example.com"}}, "go together"},
		{App{WebAuthn: &WebAuthnConfig{UserVerification: "always"}}, "user_verification"},
		{App{WebAuthn: &WebAuthnConfig{Passwordless: "maybe"}}, "passwordless"},
		{App{WebAuthn: &WebAuthnConfig{BackupEligible: "sometimes"}}, "backup_eligible"},
		{App{WebAuthn: &WebAuthnConfig{AllowedAAGUIDs: []string{"yubikey"}}}, "allowed_aaguids"},
		{App{Users: []UserConfig{{Name: "alice", PasswordHash: "plain"}}}, "bcrypt"},
		{App{Roles: []RoleConfig{{Name: "deploy er", Trust: "t.json"}}}, `role "deploy er": the name`},
		{App{Roles: []RoleConfig{{Name: "deployer"}}}, "role deployer: trust"},
		{App{Roles: []RoleConfig{{Name: "d", Trust: "t"}, {Name: "d", Trust: "t"}}}, "role d: declared twice"},
		{App{Roles: []RoleConfig{{Name: "d", Trust: "t", MaxDuration: caddy.Duration(48 * time.Hour)}}}, "role d: max_duration"},
		{App{Roles: []RoleConfig{{Name: "d", Trust: "t", MaxDuration: caddy.Duration(time.Minute)}}}, "role d: max_duration"},
		{App{Roles: []RoleConfig{{Name: "d", Trust: "t", Description: strings.Repeat("x", 1001)}}}, "role d: description"},
	}
	for _, c := range cases {
		if err := c.app.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want mention of %q", c.app, err, c.want)
		}
	}
	for _, bad := range []string{"API.example.com", "a b", "a/b", strings.Repeat("a", 254)} {
		if err := (&Handler{Audience: bad}).Validate(); err == nil || !strings.Contains(err.Error(), "mfa audience") {
			t.Errorf("handler audience %q: %v", bad, err)
		}
	}
	h := Handler{Prefix: "noslash"}
	if err := h.Validate(); err == nil || !strings.Contains(err.Error(), "prefix") {
		t.Errorf("handler prefix: %v", err)
	}
	for _, h := range []Handler{{RememberDevice: caddy.Duration(91 * 24 * time.Hour)}, {RememberDevice: -1},
		{RememberDevice: caddy.Duration(time.Hour), Identity: "{http.auth.user.id}"}} {
		if err := h.Validate(); err == nil || !strings.Contains(err.Error(), "remember_device") {
			t.Errorf("handler remember_device %v identity %q: %v", time.Duration(h.RememberDevice), h.Identity, err)
		}
	}
	bad := Handler{Policies: []string{"testdata/policies/missing.json"}}
	if _, err := bad.compilePolicy(); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("a missing policy file: %v", err)
	}
}

// TestMFARunsAfterForwardAuth: whatever order a site block lists them in, forward_auth (a
// reverse_proxy with handle_response) and basic_auth run before mfa, so the identity they set
// is in place before the gate and its own pages read it.
func TestMFARunsAfterForwardAuth(t *testing.T) {
	out, err := adapt(t, `:8080 {
		mfa {
			identity {http.request.header.Remote-User}
		}
		basic_auth /basic/* {
			bob $2a$14$Zkx19XLiW6VYouLHR5NmfOFU0z2GTNmpkT/5qqR7hx4IjWJPDhjvG
		}
		forward_auth 127.0.0.1:9091 {
			uri /api/verify
			copy_headers Remote-User
		}
		reverse_proxy 127.0.0.1:9000
	}`)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Apps struct {
			HTTP struct {
				Servers map[string]struct {
					Routes []struct {
						Handle []map[string]any `json:"handle"`
					} `json:"routes"`
				} `json:"servers"`
			} `json:"http"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, r := range cfg.Apps.HTTP.Servers["srv0"].Routes {
		for _, h := range r.Handle {
			name, _ := h["handler"].(string)
			if _, ok := h["handle_response"]; ok {
				name = "forward_auth"
			}
			order = append(order, name)
		}
	}
	if got := strings.Join(order, " "); got != "authentication forward_auth mfa reverse_proxy" {
		t.Fatalf("handler order %q", got)
	}
}
