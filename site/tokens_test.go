package site_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/gate"
	"github.com/caddy-mfa/caddy-mfa/internal/housetest"
	"github.com/caddy-mfa/caddy-mfa/policy"
)

// apiConsumer enrols alice, passes a factor in a browser session and makes her an access key.
func apiConsumer(t *testing.T, e *env) (keyID, keySecret, serial, secret string) {
	t.Helper()
	c := e.Client()
	c.Login("alice", testPassword)
	serial, secret = c.Enrol("phone")
	var ak housetest.AccessKeyView
	if r := c.Do("POST", "/.mfa/api/access-keys", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("create access key: %d %s", r.StatusCode, r.Body)
	} else {
		r.JSON(&ak)
	}
	if !strings.HasPrefix(ak.AccessKeyID, "MKIA") || len(ak.Secret) != 40 {
		t.Fatalf("access key %+v", ak)
	}
	return ak.AccessKeyID, ak.Secret, serial, secret
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

// TestGetSessionTokenFlow follows AWS's GetSessionToken: an access key alone is refused, a code
// buys an MFA token, STS's refusals come word for word, and a token without a code carries no MFA.
func TestGetSessionTokenFlow(t *testing.T) {
	e := newEnv(t)
	id, key, serial, secret := apiConsumer(t, e)
	api := e.Client()

	mfaToken := sessionTokenWithACode(t, e, api, id, key, serial, secret)
	getSessionTokenRefusals(t, e, api, id, key, serial, secret, mfaToken)

	// Without a code: a token with mfa:Present false, which require-mfa routes challenge.
	var tok housetest.SessionTokenResponse
	d := int64(900)
	r := api.Do("POST", "/.mfa/api/session-token", housetest.SessionTokenRequest{DurationSeconds: &d}, housetest.Basic(id, key)...)
	r.JSON(&tok)
	if r.StatusCode != http.StatusOK || tok.MFAAuthenticated || !tok.Expiration.Equal(e.Clock.Now().Add(15*time.Minute)) {
		t.Fatalf("token without MFA: %d %s", r.StatusCode, r.Body)
	}
	if r := api.Do("GET", "/app", nil, bearer(tok.SessionToken)...); r.StatusCode != http.StatusUnauthorized || r.ErrorCode() != auth.CodeMFARequired {
		t.Fatalf("a token without MFA at the gate: %d %s", r.StatusCode, r.Body)
	}
	if e.Events("session_token_issued") != 2 {
		t.Fatalf("session_token_issued events: %d", e.Events("session_token_issued"))
	}
}

// sessionTokenWithACode plays AWS's sample scenario: the call with the access key alone is refused,
// a session token bought with a code works at the gate and in whoami; it returns that token.
func sessionTokenWithACode(t *testing.T, e *env, api *client, id, key, serial, secret string) string {
	t.Helper()
	// AWS's sample scenario: the call without MFA is refused, a token with a code works.
	r := api.Do("GET", "/app", nil, housetest.Basic(id, key)...)
	if r.StatusCode != http.StatusUnauthorized || r.ErrorCode() != auth.CodeMFARequired ||
		!strings.Contains(r.Header.Get("WWW-Authenticate"), `error="insufficient_user_authentication"`) {
		t.Fatalf("access key alone: %d %s %q", r.StatusCode, r.Body, r.Header.Get("WWW-Authenticate"))
	}
	e.Clock.Advance(30 * time.Second)
	var tok housetest.SessionTokenResponse
	r = api.Do("POST", "/.mfa/api/session-token", housetest.SessionTokenRequest{Serial: serial, Code: e.Code(secret, 0)}, housetest.Basic(id, key)...)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("GetSessionToken: %d %s", r.StatusCode, r.Body)
	}
	r.JSON(&tok)
	if !tok.MFAAuthenticated || tok.TokenType != "Bearer" || !tok.Expiration.Equal(e.Clock.Now().Add(12*time.Hour)) {
		t.Fatalf("token: %+v", tok)
	}
	r = api.Do("GET", "/app", nil, bearer(tok.SessionToken)...)
	var h map[string]string
	r.JSON(&h)
	if r.StatusCode != http.StatusOK || h["X-Mfa-Auth-Type"] != "token" || h["X-Mfa-Present"] != "true" || h["X-Mfa-User"] != "alice" {
		t.Fatalf("with the MFA token: %d %s", r.StatusCode, r.Body)
	}
	var who housetest.WhoAmI
	api.Do("GET", "/.mfa/api/whoami", nil, bearer(tok.SessionToken)...).JSON(&who)
	if who.AuthType != "token" || !who.MFA.Present || who.MFA.Serial != serial {
		t.Fatalf("whoami with the token: %+v", who)
	}
	return tok.SessionToken
}

// getSessionTokenRefusals checks STS's refusals, word for word: a reused code, another user's
// serial, session credentials (mfaToken), durations out of range, no or wrong credentials.
func getSessionTokenRefusals(t *testing.T, e *env, api *client, id, key, serial, secret, mfaToken string) {
	t.Helper()
	// STS's refusals, word for word.
	r := api.Do("POST", "/.mfa/api/session-token", housetest.SessionTokenRequest{Serial: serial, Code: e.Code(secret, 0)}, housetest.Basic(id, key)...)
	if r.StatusCode != http.StatusForbidden || r.ErrorCode() != auth.CodeInvalidAuthCode || !strings.Contains(string(r.Body), auth.MsgBadCode) {
		t.Fatalf("reused code: %d %s", r.StatusCode, r.Body)
	}
	r = api.Do("POST", "/.mfa/api/session-token", housetest.SessionTokenRequest{Serial: "caddy-mfa:bob:phone", Code: "123456"}, housetest.Basic(id, key)...)
	if r.StatusCode != http.StatusForbidden || !strings.Contains(string(r.Body), "Please verify your MFA serial number is valid and associated with this user") {
		t.Fatalf("someone else's serial: %d %s", r.StatusCode, r.Body)
	}
	r = api.Do("POST", "/.mfa/api/session-token", housetest.SessionTokenRequest{}, bearer(mfaToken)...)
	if r.StatusCode != http.StatusForbidden || r.ErrorCode() != auth.CodeAccessDenied || !strings.Contains(string(r.Body), "Cannot call GetSessionToken with session credentials") {
		t.Fatalf("with session credentials: %d %s", r.StatusCode, r.Body)
	}
	for _, d := range []int64{899, 129601} {
		r = api.Do("POST", "/.mfa/api/session-token", housetest.SessionTokenRequest{DurationSeconds: &d}, housetest.Basic(id, key)...)
		if r.StatusCode != http.StatusBadRequest || r.ErrorCode() != auth.CodeValidationError || !strings.Contains(string(r.Body), "durationSeconds") {
			t.Fatalf("duration %d: %d %s", d, r.StatusCode, r.Body)
		}
	}
	if r := api.Do("POST", "/.mfa/api/session-token", nil); r.StatusCode != http.StatusUnauthorized || r.ErrorCode() != auth.CodeAuthRequired {
		t.Fatalf("anonymous: %d %s", r.StatusCode, r.Body)
	}
	if r := api.Do("POST", "/.mfa/api/session-token", nil, housetest.Basic(id, strings.Repeat("x", 40))...); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a wrong secret: %d %s", r.StatusCode, r.Body)
	}
}

func TestAccessKeysNeedFreshMFAAndAllowAccessKeys(t *testing.T) {
	e := newEnv(t, func(o *gate.Options, _ *auth.Config, _ *auth.Deps) {
		o.Policy, _ = policy.Compile(policy.Shortcuts{RequireMFA: true, AllowAccessKeys: true}.Document(true))
	})
	id, key, _, _ := apiConsumer(t, e)
	r := e.Client().Do("GET", "/app", nil, housetest.Basic(id, key)...)
	var h map[string]string
	r.JSON(&h)
	if r.StatusCode != http.StatusOK || h["X-Mfa-Auth-Type"] != "access_key" || h["X-Mfa-Present"] != "" {
		t.Fatalf("allow_access_keys: %d %s", r.StatusCode, r.Body)
	}
	// A second key is fine within 15 minutes of the factor; a third is over IAM's limit.
	c := e.Client()
	c.Login("alice", testPassword)
	if r := c.Do("POST", "/.mfa/api/access-keys", nil); r.StatusCode != http.StatusUnauthorized || r.ErrorCode() != auth.CodeMFARequired {
		t.Fatalf("an access key without a factor: %d %s", r.StatusCode, r.Body)
	}
	var keys []housetest.AccessKeyView
	e.Client().Do("GET", "/.mfa/api/access-keys", nil, housetest.Basic(id, key)...).JSON(&keys)
	if len(keys) != 1 || keys[0].Secret != "" {
		t.Fatalf("listing keys: %+v", keys)
	}
	if r := e.Client().Do("POST", "/.mfa/api/access-keys", nil, housetest.Basic(id, key)...); r.StatusCode != http.StatusForbidden || r.ErrorCode() != auth.CodeAccessDenied {
		t.Fatalf("an access key may not make another: %d %s", r.StatusCode, r.Body)
	}
}

func TestDeletedAccessKeyStopsWorking(t *testing.T) {
	e := newEnv(t)
	id, key, serial, secret := apiConsumer(t, e)
	e.Clock.Advance(30 * time.Second)
	var tok housetest.SessionTokenResponse
	e.Client().Do("POST", "/.mfa/api/session-token", housetest.SessionTokenRequest{Serial: serial, Code: e.Code(secret, 0)}, housetest.Basic(id, key)...).JSON(&tok)
	r := e.Client().Do("DELETE", "/.mfa/api/access-keys/"+id, nil, bearer(tok.SessionToken)...)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("delete: %d %s", r.StatusCode, r.Body)
	}
	if r := e.Client().Do("POST", "/.mfa/api/session-token", nil, housetest.Basic(id, key)...); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a deleted key: %d %s", r.StatusCode, r.Body)
	}
}
