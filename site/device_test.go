package site_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/gate"
	"github.com/caddy-mfa/caddy-mfa/throttle"
)

type deviceCodes struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
}

type deviceToken struct {
	SessionToken     string    `json:"session_token"`
	TokenType        string    `json:"token_type"`
	Expiration       time.Time `json:"expiration"`
	MFAAuthenticated bool      `json:"mfa_authenticated"`
	Error            string    `json:"error"`
	Description      string    `json:"error_description"`
}

var userCodeShape = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

// authorize asks for codes as a command-line client would: no cookie, no Origin.
func (e *env) authorize(body map[string]any) deviceCodes {
	e.T.Helper()
	r := e.Client().Do("POST", "/.mfa/api/device/authorize", body)
	if r.StatusCode != http.StatusOK {
		e.T.Fatalf("authorize: %d %s", r.StatusCode, r.Body)
	}
	var dc deviceCodes
	r.JSON(&dc)
	return dc
}

// poll is one poll of the token endpoint: its status and answer.
func (e *env) poll(deviceCode string) (int, deviceToken) {
	e.T.Helper()
	r := e.Client().Do("POST", "/.mfa/api/device/token", map[string]string{"device_code": deviceCode})
	var tok deviceToken
	r.JSON(&tok)
	return r.StatusCode, tok
}

func (e *env) expectPoll(deviceCode string, status int, oauthError string) deviceToken {
	e.T.Helper()
	got, tok := e.poll(deviceCode)
	if got != status || tok.Error != oauthError {
		e.T.Fatalf("poll: %d %+v, want %d %q", got, tok, status, oauthError)
	}
	return tok
}

// enrolledAlice is alice signed in at a browser with a factor passed just now.
func (e *env) enrolledAlice() *client {
	c := e.Client()
	c.Login("alice", testPassword)
	c.Enrol("phone")
	return c
}

func approve(c *client, userCode string, yes bool) *response {
	return c.Do("POST", "/.mfa/api/device/approve", map[string]any{"user_code": userCode, "approve": yes})
}

func TestDeviceFlowThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	dc := e.authorize(map[string]any{"client_name": "laptop", "duration_seconds": 3600})
	uri := e.Server.URL + "/.mfa/device"
	if !userCodeShape.MatchString(dc.UserCode) || dc.VerificationURI != uri || dc.VerificationURIComplete != uri+"?code="+dc.UserCode ||
		dc.ExpiresIn != 600 || dc.Interval != 5 || len(dc.DeviceCode) < 40 {
		t.Fatalf("codes: %+v", dc)
	}
	e.expectPoll(dc.DeviceCode, http.StatusBadRequest, "authorization_pending")
	e.expectPoll(dc.DeviceCode, http.StatusBadRequest, "slow_down")
	alice := e.enrolledAlice()
	if r := approve(alice, strings.ToLower(strings.ReplaceAll(dc.UserCode, "-", " ")), true); r.StatusCode != http.StatusOK ||
		!strings.Contains(string(r.Body), `"approved":true`) || !strings.Contains(string(r.Body), `"client_name":"laptop"`) {
		t.Fatalf("approve: %d %s", r.StatusCode, r.Body)
	}
	e.Clock.Advance(10 * time.Second)
	tok := e.expectPoll(dc.DeviceCode, http.StatusOK, "")
	if !tok.MFAAuthenticated || tok.TokenType != "Bearer" || !tok.Expiration.Equal(e.Clock.Now().Add(time.Hour)) {
		t.Fatalf("token: %+v", tok)
	}
	var h map[string]string
	r := e.Client().Do("GET", "/app", nil, bearer(tok.SessionToken)...)
	r.JSON(&h)
	if r.StatusCode != http.StatusOK || h["X-Mfa-User"] != "alice" || h["X-Mfa-Auth-Type"] != "token" || h["X-Mfa-Method"] != "virtual" {
		t.Fatalf("the token at the gate: %d %s", r.StatusCode, r.Body)
	}
	e.Clock.Advance(10 * time.Second)
	e.expectPoll(dc.DeviceCode, http.StatusBadRequest, "invalid_grant")
	if e.Events("device_authorization_approved") != 1 || e.Events("session_token_issued") != 1 {
		t.Fatal("the approval and the token were not audited")
	}
	for _, entry := range e.Logs.All() {
		for _, f := range entry.Context {
			if strings.Contains(f.String, dc.DeviceCode[8:]) || strings.Contains(f.String, tok.SessionToken) {
				t.Fatalf("audit %s holds a secret", entry.Message)
			}
		}
	}
}

func TestDeviceDenialAndExpiry(t *testing.T) {
	e := newEnv(t)
	denied, late := e.authorize(nil), e.authorize(map[string]any{})
	alice := e.enrolledAlice()
	if r := approve(alice, denied.UserCode, false); r.StatusCode != http.StatusOK || !strings.Contains(string(r.Body), `"approved":false`) {
		t.Fatalf("deny: %d %s", r.StatusCode, r.Body)
	}
	e.expectPoll(denied.DeviceCode, http.StatusBadRequest, "access_denied")
	if r := approve(alice, denied.UserCode, true); r.StatusCode != http.StatusBadRequest || r.ErrorCode() != auth.CodeInvalidInput {
		t.Fatalf("approve after deny: %d %s", r.StatusCode, r.Body)
	}
	e.Clock.Advance(10 * time.Minute)
	e.expectPoll(late.DeviceCode, http.StatusBadRequest, "expired_token")
	if r := approve(alice, late.UserCode, false); r.StatusCode != http.StatusNotFound || !strings.Contains(string(r.Body), "expired") {
		t.Fatalf("deny after expiry: %d %s", r.StatusCode, r.Body)
	}
	for _, dc := range []string{"", "nonsense", strings.Repeat("B", 51)} {
		if got, tok := e.poll(dc); got != http.StatusBadRequest || (tok.Error != "invalid_grant" && tok.Error != "invalid_request") {
			t.Fatalf("poll %q: %d %+v", dc, got, tok)
		}
	}
	if r := e.Client().Do("POST", "/.mfa/api/device/token", "device_code=x", "Content-Type", "application/x-www-form-urlencoded"); r.StatusCode != http.StatusBadRequest ||
		!strings.Contains(string(r.Body), `"error":"invalid_request"`) {
		t.Fatalf("a form body: %d %s", r.StatusCode, r.Body)
	}
}

// TestDeviceAuthorizeInput: the lifetime within the operator's bounds, in STS's words; a name
// the approver could be misled by is refused.
func TestDeviceAuthorizeInput(t *testing.T) {
	e := newEnv(t)
	for _, body := range []map[string]any{
		{"duration_seconds": 60}, {"duration_seconds": 40 * 3600}, {"client_name": "laptop\u202egnp.exe"},
		{"client_name": "two\nlines"}, {"client_name": strings.Repeat("x", 65)}, {"client_name": 7}, {"scope": "admin"},
	} {
		r := e.Client().Do("POST", "/.mfa/api/device/authorize", body)
		if r.StatusCode != http.StatusBadRequest {
			t.Errorf("authorize %v: %d %s", body, r.StatusCode, r.Body)
		}
	}
	dc := e.authorize(map[string]any{"client_name": "ci runner № 7"})
	alice := e.enrolledAlice()
	approve(alice, dc.UserCode, true)
	if tok := e.expectPoll(dc.DeviceCode, http.StatusOK, ""); !tok.Expiration.Equal(e.Clock.Now().Add(12 * time.Hour)) {
		t.Fatalf("default lifetime: %v", tok.Expiration)
	}
}

func TestDeviceAuthorizeIsThrottledPerAddress(t *testing.T) {
	e := newEnv(t, func(_ *gate.Options, _ *auth.Config, d *auth.Deps) {
		d.Throttle = throttle.NewPerAddress(3, time.Minute, d.Now)
	})
	for range 3 {
		e.authorize(nil)
	}
	r := e.Client().Do("POST", "/.mfa/api/device/authorize", nil)
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("the 4th from one address: %d %s", r.StatusCode, r.Body)
	}
}
