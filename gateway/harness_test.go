package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/identity"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/session"
	"github.com/caddy-mfa/caddy-mfa/store"
	"github.com/caddy-mfa/caddy-mfa/store/caddystore"
)

// clock is the fake time every test moves by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a gateway in front of an upstream that echoes the identity headers it receives.
type env struct {
	t      testing.TB
	clock  *clock
	svc    *Services
	gate   *Gate
	server *httptest.Server
	logs   *observer.ObservedLogs
	seen   *upstreamLog
}

// upstreamLog keeps the last request the upstream received, as it received it.
type upstreamLog struct {
	mu   sync.Mutex
	last *http.Request
}

func (u *upstreamLog) record(r *http.Request) {
	u.mu.Lock()
	u.last = r.Clone(r.Context())
	u.mu.Unlock()
}

// take returns the last request the upstream got and forgets it; nil when none came.
func (u *upstreamLog) take() *http.Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	r := u.last
	u.last = nil
	return r
}

const testPassword = "correct horse battery staple"

type envOption func(*Options, *Services)

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	st := caddystore.New(&certmagic.FileStorage{Path: t.TempDir()}, "mfa")
	sealer, _ := store.NewSealer(bytes.Repeat([]byte{3}, store.KeySize))
	ring, _ := session.NewKeyRing(bytes.Repeat([]byte{4}, 32))
	core, logs := observer.New(zap.InfoLevel)
	audit := zap.New(core)
	users := identity.NewDirectory(st, c.now, bcrypt.MinCost)
	keys := identity.NewAccessKeys(st, sealer, c.now)
	svc := &Services{
		Users:              users,
		AccessKeys:         keys,
		KeyIndex:           identity.NewKeyIndex(keys, users),
		Tokens:             TokenLifetimes{Default: 12 * time.Hour, Min: 15 * time.Minute, Max: 36 * time.Hour},
		Devices:            factors.NewDevices(st, sealer, c.now, factors.Settings{Issuer: "test", MaxDevices: 3, Skew: 1, ResyncWindow: 10}),
		Recovery:           factors.NewRecoveryCodes(st, sealer, c.now),
		Lockout:            factors.NewLockout(st, c.now, factors.LockoutPolicy{MaxFailures: 3, BaseDelay: 30 * time.Second, MaxDelay: time.Hour}),
		Ring:               ring,
		TokenCache:         session.NewTokenCache(ring),
		Cookies:            session.NewCookies(ring, session.CookieOptions{Name: "mfa", Idle: 30 * time.Minute, Absolute: 12 * time.Hour}, c.now),
		Revocations:        session.NewRevocations(st, c.now, 48*time.Hour),
		Now:                c.now,
		Issuer:             "test",
		EnrollmentRequired: true,
		Audit:              func(event string, fields ...zap.Field) { audit.Info(event, fields...) },
		Log:                zap.NewNop(),
	}
	hash, _ := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	for _, u := range []string{"alice", "bob"} {
		if _, err := svc.Users.Create(t.Context(), u, string(hash), []string{"dev"}); err != nil {
			t.Fatal(err)
		}
	}
	set, err := policy.Compile(policy.Shortcuts{RequireMFA: true}.Document(true))
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Prefix: "/.mfa", Policy: set}
	for _, opt := range opts {
		opt(&o, svc)
	}
	g, err := New(svc, o)
	if err != nil {
		t.Fatal(err)
	}
	seen := new(upstreamLog)
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.record(r)
		headers := map[string]string{}
		for k := range r.Header {
			if strings.HasPrefix(k, "X-Mfa-") {
				headers[k] = r.Header.Get(k)
			}
		}
		writeJSON(w, http.StatusOK, headers)
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := g.Serve(w, r); ok {
			upstream.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return &env{t: t, clock: c, svc: svc, gate: g, server: srv, logs: logs, seen: seen}
}

// client is one browser or API client, with its own cookies and CSRF token.
type client struct {
	e    *env
	http *http.Client
	csrf string
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type response struct {
	*http.Response
	body []byte
}

func (r *response) json(v any) {
	if err := json.Unmarshal(r.body, v); err != nil {
		panic(err)
	}
}

func (r *response) errorCode() string {
	var b errorBody
	_ = json.Unmarshal(r.body, &b)
	return b.Error.Code
}

func (c *client) do(method, path string, body any, headers ...string) *response {
	c.e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case url.Values:
		rd = strings.NewReader(b.Encode())
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, c.e.server.URL+path, rd)
	switch body.(type) {
	case url.Values:
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	case nil:
	default:
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return &response{Response: resp, body: raw}
}

func (c *client) login(user, password string) *response {
	c.e.t.Helper()
	r := c.do("POST", "/.mfa/api/login", map[string]string{"username": user, "password": password})
	if r.StatusCode == http.StatusOK {
		var lr loginResponse
		r.json(&lr)
		c.csrf = lr.CSRFToken
	}
	return r
}

// code is what the user's app shows, offset steps from now.
func (e *env) code(secret string, offset int64) string {
	seed, err := b32decode(secret)
	if err != nil {
		e.t.Fatal(err)
	}
	code, err := factors.VirtualTOTP.Code(seed, factors.VirtualTOTP.Step(e.clock.now())+offset)
	if err != nil {
		e.t.Fatal(err)
	}
	return code
}

// enrol creates and enables a virtual device for the signed-in client, returning its secret.
func (c *client) enrol(name string) (serial, secret string) {
	c.e.t.Helper()
	r := c.do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": name})
	if r.StatusCode != http.StatusOK {
		c.e.t.Fatalf("create virtual device: %d %s", r.StatusCode, r.body)
	}
	var cv createVirtualResponse
	r.json(&cv)
	r = c.do("POST", "/.mfa/api/devices/"+cv.Serial+"/enable", twoCodes{Code1: c.e.code(cv.Secret, -1), Code2: c.e.code(cv.Secret, 0)})
	if r.StatusCode != http.StatusOK {
		c.e.t.Fatalf("enable: %d %s", r.StatusCode, r.body)
	}
	var out struct {
		CSRFToken string `json:"csrf_token"`
	}
	r.json(&out)
	c.csrf = out.CSRFToken
	return cv.Serial, cv.Secret
}

func (e *env) events(name string) int { return e.logs.FilterMessage(name).Len() }

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
