package e2e

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRedisOutageAnswers: with the node's Redis stopped, what needs the store fails closed with
// 503 ServiceFailure (nothing passes a check that must happen once), and what is checked from a
// signature and the node's memory goes on: docs/operations.md lists the same calls.
func TestRedisOutageAnswers(t *testing.T) {
	redisURL, stopRedis := startRedis(t)
	n := startClusterNode(t, redisURL, randomKey(t), randomKey(t))
	now := time.Now()
	browser := n.signIn(t, "demo")
	serial, secret := browser.enrol(t, "phone", now) // a browser that passed a factor
	pending := n.signIn(t, "demo")                   // a browser waiting for one
	admin := "--address=" + strings.TrimPrefix(n.admin, "http://")
	out := n.caddyCLI(t, nil, "access-key", "create", "--user", "demo", admin)
	key := []string{"Authorization", basicAuth(jsonField(t, out, "access_key_id"), jsonField(t, out, "secret_access_key"))}
	var minted struct {
		Token string `json:"session_token"`
	}
	if code := newAPIClient(t, n.url).call("POST", "/.mfa/api/session-token", map[string]string{"serial": serial, "code": oathtool(t, secret, now.Add(30*time.Second))}, &minted, key...); code != http.StatusOK {
		t.Fatalf("a token before the outage: %d", code)
	}
	bearer := []string{"Authorization", "Bearer " + minted.Token}
	stopRedis()

	api := newAPIClient(t, n.url)
	for _, c := range []struct {
		name   string
		status int
		call   func() int
	}{
		{"the gate, with a token", http.StatusOK, func() int { return api.call("GET", "/", nil, nil, bearer...) }},
		{"the gate, with a browser session", http.StatusOK, func() int { return browser.call("GET", "/", nil, nil) }},
		{"whoami, with a token", http.StatusOK, func() int { return api.call("GET", "/.mfa/api/whoami", nil, nil, bearer...) }},
		{"whoami, with a browser session", http.StatusOK, func() int { return browser.call("GET", "/.mfa/api/whoami", nil, nil) }},
		{"GetSessionToken without a code", http.StatusOK, func() int { return api.call("POST", "/.mfa/api/session-token", map[string]string{}, nil, key...) }},
		{"GetSessionToken with a code", http.StatusServiceUnavailable, func() int {
			return api.call("POST", "/.mfa/api/session-token", map[string]string{"serial": serial, "code": oathtool(t, secret, now.Add(60*time.Second))}, nil, key...)
		}},
		{"verify", http.StatusServiceUnavailable, func() int {
			return pending.call("POST", "/.mfa/api/verify", map[string]string{"code": oathtool(t, secret, now.Add(60*time.Second))}, nil)
		}},
		{"sign-in", http.StatusServiceUnavailable, func() int {
			return api.call("POST", "/.mfa/api/login", map[string]string{"username": "demo2", "password": n.password}, nil)
		}},
		{"enrolment", http.StatusServiceUnavailable, func() int {
			return browser.call("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "tablet"}, nil)
		}},
		{"new recovery codes", http.StatusServiceUnavailable, func() int { return browser.call("POST", "/.mfa/api/recovery-codes", nil, nil) }},
		{"a new access key", http.StatusServiceUnavailable, func() int { return browser.call("POST", "/.mfa/api/access-keys", nil, nil) }},
		{"revoke-sessions", http.StatusServiceUnavailable, func() int {
			return newAPIClient(t, n.admin).call("POST", "/mfa/users/demo/revoke-sessions", nil, nil)
		}},
		{"sign-out", http.StatusServiceUnavailable, func() int { return browser.call("POST", "/.mfa/api/logout", nil, nil) }},
		{"the gate, after the failed sign-out (the cookie is cleared)", http.StatusUnauthorized, func() int { return browser.call("GET", "/", nil, nil) }},
	} {
		if got := c.call(); got != c.status {
			t.Errorf("%s during the outage: %d, want %d", c.name, got, c.status)
		}
	}
}

func basicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}
