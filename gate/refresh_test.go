package gate_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/internal/housetest"
	"github.com/caddy-mfa/caddy-mfa/session"
)

// TestStaleCookieRefreshedOnceAMinute: a client that keeps sending the cookie it had, however
// fast and however many requests at once, gets one refreshed cookie (and one sign-in record
// write) per session a minute; another session of the same user keeps its own refresh.
func TestStaleCookieRefreshedOnceAMinute(t *testing.T) {
	e := newEnv(t)
	laptop, secret := fixedCookieOf(t, e, "")
	phone, _ := fixedCookieOf(t, e, secret)
	e.Clock.Advance(2 * time.Minute)
	if n := refreshedAmong(t, e, laptop, 30); n != 1 {
		t.Fatalf("30 parallel requests with a stale cookie: %d refreshed cookies, want 1", n)
	}
	if n := refreshedAmong(t, e, laptop, 5); n != 0 {
		t.Fatalf("requests right after the refresh: %d refreshed cookies, want 0", n)
	}
	if n := refreshedAmong(t, e, phone, 5); n != 1 {
		t.Fatalf("another session of the same user: %d refreshed cookies, want 1", n)
	}
	e.Clock.Advance(session.RefreshAfter - time.Second)
	if n := refreshedAmong(t, e, laptop, 5); n != 0 {
		t.Fatalf("within a minute of the refresh: %d refreshed cookies, want 0", n)
	}
	e.Clock.Advance(time.Second)
	if n := refreshedAmong(t, e, laptop, 5); n != 1 {
		t.Fatalf("a minute after the refresh: %d refreshed cookies, want 1", n)
	}
}

// fixedCookieOf signs alice in on a new browser, with the device of secret or (when "") a new
// one, and returns its Cookie header as a client that never stores a Set-Cookie would send it
// from then on, and the device's secret.
func fixedCookieOf(t *testing.T, e *env, secret string) (cookie, deviceSecret string) {
	c := e.Client()
	c.Login("alice", testPassword)
	if secret == "" {
		_, secret = c.Enrol("phone")
	} else {
		e.Clock.Advance(30 * time.Second) // the device's next one-time code
		if r := c.Do("POST", "/.mfa/api/verify", housetest.VerifyRequest{Code: e.Code(secret, 0)}); r.StatusCode != http.StatusOK {
			t.Fatalf("verify: %d %s", r.StatusCode, r.Body)
		}
	}
	u, _ := url.Parse(e.Server.URL)
	var pairs []string
	for _, ck := range c.HTTP.Jar.Cookies(u) {
		pairs = append(pairs, ck.Name+"="+ck.Value)
	}
	return strings.Join(pairs, "; "), secret
}

// refreshedAmong sends n requests at once with cookie, fails unless each is let through, and
// counts the answers that set a new session cookie.
func refreshedAmong(t *testing.T, e *env, cookie string, n int) int {
	c := e.Client()
	c.HTTP.Jar = nil
	name := e.Ops.Cookies.CookieName(c.Request("GET", "/app", nil))
	var mu sync.Mutex
	refreshed := 0
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := c.Send(c.Request("GET", "/app", nil, "Cookie", cookie))
			if err != nil || r.StatusCode != http.StatusOK {
				t.Errorf("a stale but valid cookie refused: %v %v", err, r)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, ck := range r.Cookies() {
				if ck.Name == name && ck.MaxAge >= 0 {
					refreshed++
				}
			}
		}()
	}
	wg.Wait()
	return refreshed
}
