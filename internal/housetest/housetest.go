// Package housetest builds the whole house for the tests of gate, site and admin: an operations
// layer made by auth.New (the constructor the Caddy app uses), a site and a gate on it, in front
// of an upstream that records what it receives, with a fake clock and a real file store.
//
// Only tests import it.
package housetest

import (
	"bytes"
	"encoding/base32"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/factors/lockout"
	"github.com/caddy-mfa/caddy-mfa/gate"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/session"
	"github.com/caddy-mfa/caddy-mfa/site"
	"github.com/caddy-mfa/caddy-mfa/store"
	"github.com/caddy-mfa/caddy-mfa/store/caddystore"
	"github.com/caddy-mfa/caddy-mfa/web"
)

// Clock is the fake time every test moves by hand.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock is a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Start is where every test's clock starts.
var Start = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// Password is alice's and bob's password.
const Password = "correct horse battery staple"

// Env is a gateway in front of an upstream that echoes the identity headers it receives.
type Env struct {
	T      testing.TB
	Clock  *Clock
	Store  store.Store
	Ops    *auth.Service
	Gate   *gate.Gate
	Policy *policy.Set // the gate's
	Server *httptest.Server
	Logs   *observer.ObservedLogs // the audit events
	Seen   *UpstreamLog
	// RememberDevice is the remember_device of the sites NewGate makes (see Remember).
	RememberDevice time.Duration

	gateOptions gate.Options // what New built the env's gate with
}

// Option changes the wiring before the house is built.
type Option func(*gate.Options, *auth.Config, *auth.Deps)

// New builds the house: users alice and bob (group dev) with Password, and a gate that
// requires MFA, unless opts say otherwise.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	clock := NewClock(Start)
	st := caddystore.New(&certmagic.FileStorage{Path: t.TempDir()}, "mfa")
	sealer, _ := store.NewSealer(bytes.Repeat([]byte{3}, store.KeySize))
	ring, _ := session.NewKeyRing(bytes.Repeat([]byte{4}, 32))
	core, logs := observer.New(zap.InfoLevel)
	audit := zap.New(core)
	cfg := auth.Config{
		Issuer: "test", EnrollmentRequired: true,
		Devices:  factors.Settings{Issuer: "test", MaxDevices: 3, Skew: 1, ResyncWindow: 10},
		Lockout:  lockout.Policy{MaxFailures: 3, BaseDelay: 30 * time.Second, MaxDelay: time.Hour},
		Session:  session.CookieOptions{Name: "mfa", Idle: 30 * time.Minute, Absolute: 12 * time.Hour},
		Tokens:   auth.TokenLifetimes{Default: 12 * time.Hour, Min: 15 * time.Minute, Max: 36 * time.Hour},
		WebAuthn: auth.WebAuthnConfig{RPName: "test", UserVerification: "preferred"},
		// The lowest cost: the tests sign in thousands of times.
		PasswordCost: bcrypt.MinCost,
	}
	deps := auth.Deps{Store: st, Sealer: sealer, Ring: ring, TokenCache: session.NewTokenCache(ring), Now: clock.Now,
		Audit: func(event string, fields ...zap.Field) { audit.Info(event, fields...) }, Log: zap.NewNop()}
	set, err := policy.Compile(policy.Shortcuts{RequireMFA: true}.Document(true))
	if err != nil {
		t.Fatal(err)
	}
	o := gate.Options{Mount: web.Mount{Prefix: "/.mfa"}, Policy: set}
	for _, opt := range opts {
		opt(&o, &cfg, &deps)
	}
	ops, err := auth.New(t.Context(), cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	e := &Env{T: t, Clock: clock, Store: st, Ops: ops, Policy: o.Policy, Logs: logs, Seen: new(UpstreamLog), gateOptions: o}
	e.addUsers()
	e.Gate = e.NewGate(o)
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := e.Gate.Serve(w, r); ok {
			e.upstream(w, r)
		}
	}))
	t.Cleanup(e.Server.Close)
	return e
}

// NewGate is another gate, with its site, on the env's operations layer: by default at the
// env's prefix with the env's policy.
func (e *Env) NewGate(o gate.Options) *gate.Gate {
	e.T.Helper()
	if o.Prefix == "" {
		o.Prefix = "/.mfa"
	}
	if o.Policy == nil {
		o.Policy = e.Policy
	}
	s, err := site.New(e.Ops, site.Options{Mount: o.Mount, Policy: o.Policy, RememberDevice: e.RememberDevice})
	if err != nil {
		e.T.Fatal(err)
	}
	o.Site = s
	g, err := gate.New(e.Ops, o)
	if err != nil {
		e.T.Fatal(err)
	}
	return g
}

// Remember makes the env's site remember browsers for d (the handler's remember_device): the
// env's gate is built again as New built it, with that site. Call it before any request.
func (e *Env) Remember(d time.Duration) {
	e.T.Helper()
	e.RememberDevice = d
	e.Gate = e.NewGate(e.gateOptions)
}

func (e *Env) addUsers() {
	hash, _ := bcrypt.GenerateFromPassword([]byte(Password), bcrypt.MinCost)
	for _, u := range []string{"alice", "bob"} {
		if _, err := e.Ops.Users.Create(e.T.Context(), u, string(hash), []string{"dev"}); err != nil {
			e.T.Fatal(err)
		}
	}
}

// upstream records the request and answers with the identity headers it got.
func (e *Env) upstream(w http.ResponseWriter, r *http.Request) {
	e.Seen.record(r)
	headers := map[string]string{}
	for k := range r.Header {
		if strings.HasPrefix(k, "X-Mfa-") {
			headers[k] = r.Header.Get(k)
		}
	}
	web.WriteJSON(w, http.StatusOK, headers)
}

// UpstreamLog keeps the last request the upstream received, as it received it.
type UpstreamLog struct {
	mu   sync.Mutex
	last *http.Request
}

func (u *UpstreamLog) record(r *http.Request) {
	u.mu.Lock()
	u.last = r.Clone(r.Context())
	u.mu.Unlock()
}

// Take returns the last request the upstream got and forgets it; nil when none came.
func (u *UpstreamLog) Take() *http.Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	r := u.last
	u.last = nil
	return r
}

// Code is what an authenticator app with secret shows, offset steps from now.
func (e *Env) Code(secret string, offset int64) string {
	seed, err := B32Decode(secret)
	if err != nil {
		e.T.Fatal(err)
	}
	code, err := factors.VirtualTOTP.Code(seed, factors.VirtualTOTP.Step(e.Clock.Now())+offset)
	if err != nil {
		e.T.Fatal(err)
	}
	return code
}

// Events counts the audit events of a name.
func (e *Env) Events(name string) int { return e.Logs.FilterMessage(name).Len() }

// B32Decode reads a TOTP secret as apps show it.
func B32Decode(s string) ([]byte, error) {
	return base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
}
