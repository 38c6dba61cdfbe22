package site_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/gate"
	"github.com/caddy-mfa/caddy-mfa/internal/housetest"
	"github.com/caddy-mfa/caddy-mfa/web"
)

// mintToken is GetSessionToken with a code and extra body fields (policy ...), at the env's own
// host; it fails the test unless a token comes back.
func mintToken(t *testing.T, e *env, id, key, serial, secret string, extra map[string]any) string {
	t.Helper()
	e.Clock.Advance(30 * time.Second)
	body := map[string]any{"serial": serial, "code": e.Code(secret, 0)}
	for k, v := range extra {
		body[k] = v
	}
	r := e.Client().Do("POST", "/.mfa/api/session-token", body, housetest.Basic(id, key)...)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("GetSessionToken %v: %d %s", extra, r.StatusCode, r.Body)
	}
	var tok housetest.SessionTokenResponse
	r.JSON(&tok)
	return tok.SessionToken
}

// atHost sends a GET with the token, its Host header set to host.
func atHost(e *env, server, host, path, tok string) *housetest.Response {
	c := e.Client()
	req := c.Request("GET", path, nil, bearer(tok)...)
	req.URL.Host = strings.TrimPrefix(server, "http://")
	req.Host = host
	r, err := c.Send(req)
	if err != nil {
		e.T.Fatal(err)
	}
	return r
}

// TestTokensAreForTheirAudience: a token minted at one host works there, whatever the port,
// case or final dot of the Host header, and is refused at another host, 401
// AuthenticationRequired; a handler's audience makes several sites one.
func TestTokensAreForTheirAudience(t *testing.T) {
	e := newEnv(t)
	id, key, serial, secret := apiConsumer(t, e)
	tok := mintToken(t, e, id, key, serial, secret, nil)
	for _, host := range []string{"127.0.0.1", "127.0.0.1:1", "127.0.0.1.", "127.0.0.1:443"} {
		if r := atHost(e, e.Server.URL, host, "/app", tok); r.StatusCode != http.StatusOK {
			t.Errorf("at its own host as %q: %d %s", host, r.StatusCode, r.Body)
		}
	}
	for _, host := range []string{"other.example", "OTHER.example:8080", "127.0.0.2", "localhost", "[::1]:80", "127.0.0.1.other.example"} {
		for _, path := range []string{"/app", "/.mfa/api/whoami"} {
			r := atHost(e, e.Server.URL, host, path, tok)
			if r.StatusCode != http.StatusUnauthorized || r.ErrorCode() != auth.CodeAuthRequired || !strings.Contains(string(r.Body), "the token is for another site") {
				t.Errorf("%s at %q: %d %s", path, host, r.StatusCode, r.Body)
			}
		}
	}

	// Two sites with audience "shared" (the env's keys are the same) accept each other's
	// tokens; the default site refuses them.
	shared := func(o *gate.Options, _ *auth.Config, _ *auth.Deps) { o.Audience = web.ConfiguredAudience("shared") }
	a, b := newEnv(t, shared), newEnv(t, shared)
	id, key, serial, secret = apiConsumer(t, a)
	tok = mintToken(t, a, id, key, serial, secret, nil)
	if r := atHost(b, b.Server.URL, "b.example", "/app", tok); r.StatusCode != http.StatusOK {
		t.Fatalf("another site of the same audience: %d %s", r.StatusCode, r.Body)
	}
	for _, host := range []string{"shared", "aud:shared", "aud", "SHARED."} {
		if r := atHost(e, e.Server.URL, host, "/app", tok); r.StatusCode == http.StatusOK {
			t.Fatalf("the audience's name as the Host %q, at a site without it configured: %d %s", host, r.StatusCode, r.Body)
		}
	}
}

// TestSessionPolicyNarrowsTheToken: a token with a session policy reaches only what the route
// AND the policy allow; what the policy refuses is 403, never a step-up.
func TestSessionPolicyNarrowsTheToken(t *testing.T) {
	e := newEnv(t)
	id, key, serial, secret := apiConsumer(t, e)
	doc := json.RawMessage(`{"Version":"2026-11-01","Statement":[{"Sid":"Reads","Effect":"Allow","Action":"GET","Resource":"/app/*"},
		{"Sid":"NoSecrets","Effect":"Deny","Resource":"/app/secrets/*"}]}`)
	tok := mintToken(t, e, id, key, serial, secret, map[string]any{"policy": doc})
	api := e.Client()
	if r := api.Do("GET", "/app/reports", nil, bearer(tok)...); r.StatusCode != http.StatusOK {
		t.Fatalf("what both allow: %d %s", r.StatusCode, r.Body)
	}
	for _, c := range []struct{ method, path string }{{"POST", "/app/reports"}, {"GET", "/other"}, {"GET", "/app/secrets/k"},
		{"GET", "/app/SECRETS/k"}, {"GET", "/app/%73ecrets/k"}, {"DELETE", "/app/x"}} {
		r := api.Do(c.method, c.path, nil, bearer(tok)...)
		if r.StatusCode != http.StatusForbidden || r.ErrorCode() != auth.CodeAccessDenied {
			t.Errorf("%s %s outside the session policy: %d %s", c.method, c.path, r.StatusCode, r.Body)
		}
	}
	// Without a factor the route asks for one, as before; the policy does not make that a 403.
	r := api.Do("POST", "/.mfa/api/session-token", map[string]any{"policy": doc}, housetest.Basic(id, key)...)
	var plain housetest.SessionTokenResponse
	r.JSON(&plain)
	if r = api.Do("GET", "/app/reports", nil, bearer(plain.SessionToken)...); r.StatusCode != http.StatusUnauthorized || r.ErrorCode() != auth.CodeMFARequired {
		t.Fatalf("no factor, inside the policy: %d %s; want the route's step-up", r.StatusCode, r.Body)
	}
	if r = api.Do("POST", "/app/reports", nil, bearer(plain.SessionToken)...); r.StatusCode != http.StatusForbidden {
		t.Fatalf("no factor, outside the policy: %d %s; want 403, a factor would not help", r.StatusCode, r.Body)
	}
}

// TestSessionPolicyIsChecked: a policy that does not parse, is too large, or names an unknown
// key is 400 ValidationError, and the code sent with it is not spent.
func TestSessionPolicyIsChecked(t *testing.T) {
	e := newEnv(t)
	id, key, serial, secret := apiConsumer(t, e)
	e.Clock.Advance(30 * time.Second)
	code := e.Code(secret, 0)
	for doc, want := range map[string]string{
		`{"Statement":[{"Effect":"Allow","Resource":["/` + strings.Repeat("a", 2100) + `"]}]}`: "at most 2048",
		`{"Statement":[{"Effect":"Allow","Condition":{"Bool":{"mfa:Presnt":"true"}}}]}`:        "mfa:Presnt",
		`{"Statement":[]}`:                    "Statement",
		`"allow everything"`:                  "policy",
		`{"Statement":[{"Effect":"Allow"}]}x`: "",
	} {
		r := e.Client().Do("POST", "/.mfa/api/session-token", `{"serial":"`+serial+`","code":"`+code+`","policy":`+doc+`}`,
			append(housetest.Basic(id, key), "Content-Type", "application/json")...)
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(string(r.Body), want) {
			t.Errorf("policy %.50s: %d %s; want 400 naming %q", doc, r.StatusCode, r.Body, want)
		}
	}
	r := e.Client().Do("POST", "/.mfa/api/session-token", map[string]any{"serial": serial, "code": code}, housetest.Basic(id, key)...)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("the code, after the refused policies: %d %s", r.StatusCode, r.Body)
	}
}
