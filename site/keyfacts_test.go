package site_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/gate"
	"github.com/caddy-mfa/caddy-mfa/internal/housetest"
	"github.com/caddy-mfa/caddy-mfa/policy"
)

const yubiKey = "ee882879-721c-4913-9775-3dfcce97072a" // a device-bound model's AAGUID

func uuidBytes(t *testing.T, id string) []byte {
	t.Helper()
	var b []byte
	for i := 0; i+1 < len(strings.ReplaceAll(id, "-", "")); i += 2 {
		var v byte
		for _, c := range strings.ReplaceAll(id, "-", "")[i : i+2] {
			v = v<<4 | byte(strings.IndexRune("0123456789abcdef", c))
		}
		b = append(b, v)
	}
	return b
}

// deviceBoundOnly is the policy of "/admin needs a device-bound key that verified its user".
func deviceBoundOnly(t *testing.T) envOption {
	return func(o *gate.Options, c *auth.Config, d *auth.Deps) {
		withWebAuthn(o, c, d)
		doc, err := policy.Parse("admin.json", []byte(`{"Statement": [
			{"Sid": "Members", "Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": {"mfa:Present": "true"}}},
			{"Sid": "AdminNeedsABoundKey", "Effect": "Deny", "Action": "*", "Resource": "/admin/*",
			 "Condition": {"BoolIfExists": {"mfa:BackupEligible": "true"}}},
			{"Sid": "AdminNeedsAKey", "Effect": "Deny", "Action": "*", "Resource": "/admin/*",
			 "Condition": {"StringNotEquals": {"mfa:Method": "webauthn"}}},
			{"Sid": "AdminNeedsUV", "Effect": "Deny", "Action": "*", "Resource": "/admin/*",
			 "Condition": {"BoolIfExists": {"mfa:UserVerified": "false"}}}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if o.Policy, err = policy.Compile(doc); err != nil {
			t.Fatal(err)
		}
	}
}

// keyStepUp registers k for a fresh browser of alice's (enrolled with a phone) and signs in
// with it again later, so the session's factor is the key's.
func keyStepUp(t *testing.T, e *env, k *softKey) *client {
	t.Helper()
	a := e.Client()
	a.Login("alice", testPassword)
	a.Enrol("phone")
	if r := a.registerKey(k, "key"); r.StatusCode != http.StatusOK {
		t.Fatalf("register: %d %s", r.StatusCode, r.Body)
	}
	challenge, _ := ceremonyOf(t, a.Do("POST", "/.mfa/api/webauthn/login/begin", nil))
	r := a.Do("POST", "/.mfa/api/webauthn/login/finish", json.RawMessage(k.assert(challenge, e.userHandle("alice"))))
	if r.StatusCode != http.StatusOK {
		t.Fatalf("key sign-in: %d %s", r.StatusCode, r.Body)
	}
	var out struct {
		CSRFToken string `json:"csrf_token"`
	}
	r.JSON(&out)
	a.CSRF = out.CSRFToken
	return a
}

// TestPoliciesSeeTheAuthenticator: a session that passed its factor with a security key
// carries what the key showed (user verification, backup eligibility, model) to the policy and
// to whoami; "/admin needs a device-bound key" lets the bound key in, and keeps a synced passkey
// and a TOTP code out.
func TestPoliciesSeeTheAuthenticator(t *testing.T) {
	for _, tc := range []struct {
		name   string
		key    *softKey
		admin  int
		synced bool
	}{
		{"device-bound key", &softKey{aaguid: uuidBytes(t, yubiKey)}, http.StatusOK, false},
		{"synced passkey", &softKey{synced: true}, http.StatusUnauthorized, true}, // a step-up: a bound key would do
	} {
		e := newEnv(t, deviceBoundOnly(t))
		k := e.newSoftKey()
		k.aaguid, k.synced = tc.key.aaguid, tc.key.synced
		a := keyStepUp(t, e, k)
		var who housetest.WhoAmI
		raw := a.Do("GET", "/.mfa/api/whoami", nil)
		raw.JSON(&who)
		var facts struct {
			MFA struct {
				UserVerified   *bool  `json:"user_verified"`
				BackupEligible *bool  `json:"backup_eligible"`
				Aaguid         string `json:"aaguid"`
			} `json:"mfa"`
		}
		raw.JSON(&facts)
		wantModel := map[bool]string{false: yubiKey, true: ""}[tc.synced]
		if who.MFA.Method != "webauthn" || facts.MFA.UserVerified == nil || !*facts.MFA.UserVerified ||
			facts.MFA.BackupEligible == nil || *facts.MFA.BackupEligible != tc.synced || facts.MFA.Aaguid != wantModel {
			t.Errorf("%s: whoami %s", tc.name, raw.Body)
		}
		if r := a.Do("GET", "/admin/panel", nil); r.StatusCode != tc.admin {
			t.Errorf("%s at /admin: %d, want %d", tc.name, r.StatusCode, tc.admin)
		}
		if r := a.Do("GET", "/app", nil); r.StatusCode != http.StatusOK {
			t.Errorf("%s at /app: %d", tc.name, r.StatusCode)
		}
	}
	e := newEnv(t, deviceBoundOnly(t))
	c := e.Client()
	c.Login("alice", testPassword)
	c.Enrol("phone")
	if r := c.Do("GET", "/admin/panel", nil); r.StatusCode != http.StatusUnauthorized || r.ErrorCode() != auth.CodeMFARequired {
		t.Errorf("a TOTP session at /admin: %d %s, want a step-up to a key", r.StatusCode, r.Body)
	}
}

// TestOperatorsChooseWhichKeysRegister: allowed models and "no synced passkeys" refuse other
// keys at registration, saying why, and let the allowed ones in.
func TestOperatorsChooseWhichKeysRegister(t *testing.T) {
	rules := func(r factors.KeyRules) envOption {
		return func(o *gate.Options, c *auth.Config, d *auth.Deps) {
			withWebAuthn(o, c, d)
			c.WebAuthn.Rules = r
		}
	}
	for _, tc := range []struct {
		name   string
		rules  factors.KeyRules
		aaguid string
		synced bool
		want   int
		why    string
	}{
		{"allowed model", factors.KeyRules{AllowedAAGUIDs: []string{strings.ToUpper(yubiKey)}}, yubiKey, false, 200, ""},
		{"other model", factors.KeyRules{AllowedAAGUIDs: []string{yubiKey}}, "00000000-0000-0000-0000-0000000000aa", false, 403, "not one this site allows"},
		{"model unnamed", factors.KeyRules{AllowedAAGUIDs: []string{yubiKey}}, "", false, 403, "does not name"},
		{"synced, denied", factors.KeyRules{DenyBackupEligible: true}, "", true, 403, "synced passkey"},
		{"bound, denied synced", factors.KeyRules{DenyBackupEligible: true}, yubiKey, false, 200, ""},
	} {
		e := newEnv(t, rules(tc.rules))
		a := e.Client()
		a.Login("alice", testPassword)
		a.Enrol("phone")
		k := e.newSoftKey()
		k.synced = tc.synced
		if tc.aaguid != "" {
			k.aaguid = uuidBytes(t, tc.aaguid)
		}
		r := a.registerKey(k, "key")
		if r.StatusCode != tc.want || (tc.want == 403 && (r.ErrorCode() != auth.CodeAccessDenied || !strings.Contains(string(r.Body), tc.why))) {
			t.Errorf("%s: %d %s", tc.name, r.StatusCode, r.Body)
		}
	}
}
