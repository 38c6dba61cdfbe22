package gateway

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/policy"
)

// apiConsumer enrols alice, passes a factor in a browser session and makes her an access key.
func apiConsumer(t *testing.T, e *env) (keyID, keySecret, serial, secret string) {
	t.Helper()
	c := e.client()
	c.login("alice", testPassword)
	serial, secret = c.enrol("phone")
	var ak accessKeyView
	if r := c.do("POST", "/.mfa/api/access-keys", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("create access key: %d %s", r.StatusCode, r.body)
	} else {
		r.json(&ak)
	}
	if !strings.HasPrefix(ak.AccessKeyID, "MKIA") || len(ak.Secret) != 40 {
		t.Fatalf("access key %+v", ak)
	}
	return ak.AccessKeyID, ak.Secret, serial, secret
}

func basic(id, secret string) []string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(id, secret)
	return []string{"Authorization", req.Header.Get("Authorization")}
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

func TestGetSessionTokenFlow(t *testing.T) {
	e := newEnv(t)
	id, key, serial, secret := apiConsumer(t, e)
	api := e.client()

	// AWS's sample scenario: the call without MFA is refused, a token with a code works.
	r := api.do("GET", "/app", nil, basic(id, key)...)
	if r.StatusCode != http.StatusUnauthorized || r.errorCode() != CodeMFARequired ||
		!strings.Contains(r.Header.Get("WWW-Authenticate"), `error="insufficient_user_authentication"`) {
		t.Fatalf("access key alone: %d %s %q", r.StatusCode, r.body, r.Header.Get("WWW-Authenticate"))
	}
	e.clock.advance(30 * time.Second)
	var tok sessionTokenResponse
	r = api.do("POST", "/.mfa/api/session-token", sessionTokenRequest{Serial: serial, Code: e.code(secret, 0)}, basic(id, key)...)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("GetSessionToken: %d %s", r.StatusCode, r.body)
	}
	r.json(&tok)
	if !tok.MFAAuthenticated || tok.TokenType != "Bearer" || !tok.Expiration.Equal(e.clock.now().Add(12*time.Hour)) {
		t.Fatalf("token: %+v", tok)
	}
	r = api.do("GET", "/app", nil, bearer(tok.SessionToken)...)
	var h map[string]string
	r.json(&h)
	if r.StatusCode != http.StatusOK || h["X-Mfa-Auth-Type"] != "token" || h["X-Mfa-Present"] != "true" || h["X-Mfa-User"] != "alice" {
		t.Fatalf("with the MFA token: %d %s", r.StatusCode, r.body)
	}
	var who whoamiResponse
	api.do("GET", "/.mfa/api/whoami", nil, bearer(tok.SessionToken)...).json(&who)
	if who.AuthType != "token" || !who.MFA.Present || who.MFA.Serial != serial {
		t.Fatalf("whoami with the token: %+v", who)
	}

	// STS's refusals, word for word.
	r = api.do("POST", "/.mfa/api/session-token", sessionTokenRequest{Serial: serial, Code: e.code(secret, 0)}, basic(id, key)...)
	if r.StatusCode != http.StatusForbidden || r.errorCode() != CodeInvalidAuthCode || !strings.Contains(string(r.body), msgBadCode) {
		t.Fatalf("reused code: %d %s", r.StatusCode, r.body)
	}
	r = api.do("POST", "/.mfa/api/session-token", sessionTokenRequest{Serial: "caddy-mfa:bob:phone", Code: "123456"}, basic(id, key)...)
	if r.StatusCode != http.StatusForbidden || !strings.Contains(string(r.body), msgSerialNotYours) {
		t.Fatalf("someone else's serial: %d %s", r.StatusCode, r.body)
	}
	r = api.do("POST", "/.mfa/api/session-token", sessionTokenRequest{}, bearer(tok.SessionToken)...)
	if r.StatusCode != http.StatusForbidden || r.errorCode() != CodeAccessDenied || !strings.Contains(string(r.body), msgSessionCredentials) {
		t.Fatalf("with session credentials: %d %s", r.StatusCode, r.body)
	}
	for _, d := range []int64{899, 129601} {
		r = api.do("POST", "/.mfa/api/session-token", sessionTokenRequest{DurationSeconds: &d}, basic(id, key)...)
		if r.StatusCode != http.StatusBadRequest || r.errorCode() != CodeValidationError || !strings.Contains(string(r.body), "durationSeconds") {
			t.Fatalf("duration %d: %d %s", d, r.StatusCode, r.body)
		}
	}
	if r := api.do("POST", "/.mfa/api/session-token", nil); r.StatusCode != http.StatusUnauthorized || r.errorCode() != CodeAuthRequired {
		t.Fatalf("anonymous: %d %s", r.StatusCode, r.body)
	}
	if r := api.do("POST", "/.mfa/api/session-token", nil, basic(id, strings.Repeat("x", 40))...); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a wrong secret: %d %s", r.StatusCode, r.body)
	}

	// Without a code: a token with mfa:Present false, which require-mfa routes challenge.
	d := int64(900)
	r = api.do("POST", "/.mfa/api/session-token", sessionTokenRequest{DurationSeconds: &d}, basic(id, key)...)
	r.json(&tok)
	if r.StatusCode != http.StatusOK || tok.MFAAuthenticated || !tok.Expiration.Equal(e.clock.now().Add(15*time.Minute)) {
		t.Fatalf("token without MFA: %d %s", r.StatusCode, r.body)
	}
	if r := api.do("GET", "/app", nil, bearer(tok.SessionToken)...); r.StatusCode != http.StatusUnauthorized || r.errorCode() != CodeMFARequired {
		t.Fatalf("a token without MFA at the gate: %d %s", r.StatusCode, r.body)
	}
	if e.events("session_token_issued") != 2 {
		t.Fatalf("session_token_issued events: %d", e.events("session_token_issued"))
	}
}

func TestAccessKeysNeedFreshMFAAndAllowAccessKeys(t *testing.T) {
	e := newEnv(t, func(o *Options, _ *Services) {
		o.Policy, _ = policy.Compile(policy.Shortcuts{RequireMFA: true, AllowAccessKeys: true}.Document(true))
	})
	id, key, _, _ := apiConsumer(t, e)
	r := e.client().do("GET", "/app", nil, basic(id, key)...)
	var h map[string]string
	r.json(&h)
	if r.StatusCode != http.StatusOK || h["X-Mfa-Auth-Type"] != "access_key" || h["X-Mfa-Present"] != "" {
		t.Fatalf("allow_access_keys: %d %s", r.StatusCode, r.body)
	}
	// A second key is fine within 15 minutes of the factor; a third is over IAM's limit.
	c := e.client()
	c.login("alice", testPassword)
	if r := c.do("POST", "/.mfa/api/access-keys", nil); r.StatusCode != http.StatusUnauthorized || r.errorCode() != CodeMFARequired {
		t.Fatalf("an access key without a factor: %d %s", r.StatusCode, r.body)
	}
	var keys []accessKeyView
	e.client().do("GET", "/.mfa/api/access-keys", nil, basic(id, key)...).json(&keys)
	if len(keys) != 1 || keys[0].Secret != "" {
		t.Fatalf("listing keys: %+v", keys)
	}
	if r := e.client().do("POST", "/.mfa/api/access-keys", nil, basic(id, key)...); r.StatusCode != http.StatusForbidden || r.errorCode() != CodeAccessDenied {
		t.Fatalf("an access key may not make another: %d %s", r.StatusCode, r.body)
	}
}

func TestDeletedAccessKeyStopsWorking(t *testing.T) {
	e := newEnv(t)
	id, key, serial, secret := apiConsumer(t, e)
	e.clock.advance(30 * time.Second)
	var tok sessionTokenResponse
	e.client().do("POST", "/.mfa/api/session-token", sessionTokenRequest{Serial: serial, Code: e.code(secret, 0)}, basic(id, key)...).json(&tok)
	r := e.client().do("DELETE", "/.mfa/api/access-keys/"+id, nil, bearer(tok.SessionToken)...)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("delete: %d %s", r.StatusCode, r.body)
	}
	if r := e.client().do("POST", "/.mfa/api/session-token", nil, basic(id, key)...); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a deleted key: %d %s", r.StatusCode, r.body)
	}
}
