package caddymodule

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// rotationConfig is a site whose signing keys are keys, in order (the first signs). Its user's
// cheap hash sets the cost of the users the test makes.
func rotationConfig(keys ...byte) string {
	encoded := make([]string, len(keys))
	for i, k := range keys {
		encoded[i] = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{k}, 32))
	}
	return fmt.Sprintf(`{
	admin {$MFA_TEST_ADMIN}
	http_port %d
	storage file_system %s
	mfa {
		signing_keys %s
		user alice $2a$04$yDkr1gRCtNQojfOxyVfbx.uKfwuhdsC.MfBohx1nJLI5Gn91mCrgS
	}
}
http://localhost:%d {
	mfa
	respond "ok"
}
`, integrationPort, dataDir, strings.Join(encoded, " "), integrationPort)
}

func adminPost(t *testing.T, path, body string) string {
	t.Helper()
	resp, err := http.Post(adminURL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("admin %s: %d %s", path, resp.StatusCode, raw)
	}
	return string(raw)
}

// whoami is who the site takes a browser holding cookies, or a Bearer token, to be ("" when
// anonymous, "refused" when the credential is refused).
func whoami(t *testing.T, cookies []*http.Cookie, token string) string {
	t.Helper()
	b := newBrowser(t)
	b.client.Jar.SetCookies(siteURL(), cookies)
	var header []string
	if token != "" {
		header = []string{"Authorization", "Bearer " + token}
	}
	code, _, body := b.do("GET", "/.mfa/api/whoami", "", header...)
	if code == http.StatusUnauthorized {
		return "refused"
	}
	if code != http.StatusOK {
		t.Fatalf("whoami: %d %s", code, body)
	}
	return field(t, body, "user")
}

func siteURL() *url.URL {
	u, _ := url.Parse(fmt.Sprintf("http://localhost:%d/", integrationPort))
	return u
}

// signIn signs user in with a fresh browser and returns its cookies.
func signIn(t *testing.T, user, password string) []*http.Cookie {
	t.Helper()
	b := newBrowser(t)
	if code, _, body := b.do("POST", "/.mfa/api/login", fmt.Sprintf(`{"username":%q,"password":%q}`, user, password)); code != http.StatusOK {
		t.Fatalf("login: %d %s", code, body)
	}
	return b.client.Jar.Cookies(siteURL())
}

// A key rotation through config reloads, as an operator does it: `signing_keys NEW OLD` keeps
// every browser and token signed in; dropping OLD later ends what it signed, and only that.
func TestSigningKeyRotationThroughReloads(t *testing.T) {
	const oldKey, newKey = 0xA1, 0xB2
	startCaddy(t, rotationConfig(oldKey))
	user := fmt.Sprintf("rotation%d", time.Now().UnixNano())
	adminPost(t, "/mfa/users", fmt.Sprintf(`{"name":%q,"password":"rotation-password"}`, user))
	key := adminPost(t, "/mfa/users/"+user+"/access-keys", "")
	api := newBrowser(t)
	code, _, body := api.do("POST", "/.mfa/api/session-token", "{}", "Authorization",
		"Basic "+base64.StdEncoding.EncodeToString([]byte(field(t, key, "access_key_id")+":"+field(t, key, "secret_access_key"))))
	if code != http.StatusOK {
		t.Fatalf("session token: %d %s", code, body)
	}
	oldToken := field(t, body, "session_token")
	oldCookies := signIn(t, user, "rotation-password")
	if got := whoami(t, oldCookies, ""); got != user {
		t.Fatalf("before the rotation, the cookie signs in as %q", got)
	}

	startCaddy(t, rotationConfig(newKey, oldKey)) // the reload that rotates
	if got := whoami(t, oldCookies, ""); got != user {
		t.Fatalf("signing_keys NEW OLD: a browser signed in under OLD is now %q", got)
	}
	if got := whoami(t, nil, oldToken); got != user {
		t.Fatalf("signing_keys NEW OLD: a token signed under OLD is now %q", got)
	}
	newCookies := signIn(t, user, "rotation-password")

	startCaddy(t, rotationConfig(newKey)) // OLD dropped
	if got := whoami(t, newCookies, ""); got != user {
		t.Fatalf("after dropping OLD, a cookie signed under NEW is %q", got)
	}
	if got := whoami(t, oldCookies, ""); got != "" {
		t.Fatalf("a cookie signed by a removed key still signs in as %q", got)
	}
	if got := whoami(t, nil, oldToken); got != "refused" {
		t.Fatalf("a token signed by a removed key is %q", got)
	}

	startCaddy(t, rotationConfig(oldKey)) // back to OLD alone: what NEW signed is void
	if got := whoami(t, newCookies, ""); got != "" {
		t.Fatalf("a cookie signed by a key no longer configured signs in as %q", got)
	}
}
