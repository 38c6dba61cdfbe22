package site_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/factors/lockout"
	"github.com/caddy-mfa/caddy-mfa/gate"
	"github.com/caddy-mfa/caddy-mfa/internal/housetest"
)

// countingMetrics records what the gateway counts, by "method/outcome".
type countingMetrics struct {
	mu    sync.Mutex
	v     map[string]int
	locks int
}

func (m *countingMetrics) Verification(method, outcome string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.v == nil {
		m.v = map[string]int{}
	}
	m.v[method+"/"+outcome]++
}
func (m *countingMetrics) Decision(string)    {}
func (m *countingMetrics) Lockout()           { m.mu.Lock(); m.locks++; m.mu.Unlock() }
func (m *countingMetrics) TokenIssued(string) {}

func (m *countingMetrics) get(key string) int { m.mu.Lock(); defer m.mu.Unlock(); return m.v[key] }

// withLockout sets max_failures (a minute's lock, doubling) and counts metrics into m.
func withLockout(t *testing.T, maxFailures int, m *countingMetrics) envOption {
	return func(_ *gate.Options, c *auth.Config, d *auth.Deps) {
		c.Lockout = lockout.Policy{MaxFailures: maxFailures, BaseDelay: time.Minute, MaxDelay: time.Hour}
		d.Metrics = m
	}
}

// send is client.do for use from many goroutines at once: errors are returned, not fatal.
func (c *client) send(method, path string, body any, headers ...string) (*response, error) {
	raw, _ := json.Marshal(body)
	req, err := http.NewRequest(method, c.e.Server.URL+path, bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.CSRF != "" {
		req.Header.Set("X-CSRF-Token", c.CSRF)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &response{Response: resp, Body: b}, nil
}

// atOnce sends n requests together and counts the answers by status. Every 429 must say
// Throttled with a Retry-After.
func atOnce(t *testing.T, n int, send func(i int) (*response, error)) map[int]int {
	t.Helper()
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			r, err := send(i)
			if err != nil {
				t.Error(err)
				return
			}
			if r.StatusCode == http.StatusTooManyRequests && (r.ErrorCode() != auth.CodeThrottled || r.Header.Get("Retry-After") == "") {
				t.Errorf("a 429 without Throttled and Retry-After: %s %q", r.Body, r.Header.Get("Retry-After"))
			}
			mu.Lock()
			counts[r.StatusCode]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return counts
}

// wantCapped checks that of n wrong codes at once exactly max were checked (403) and the rest
// refused unchecked (429); then that a right code is refused too while the lock lasts.
func wantCapped(t *testing.T, counts map[int]int, n, maxFailures int, right func() *response) {
	t.Helper()
	if counts[http.StatusForbidden] != maxFailures || counts[http.StatusTooManyRequests] != n-maxFailures {
		t.Fatalf("%d wrong codes at once with max_failures %d: answers %v; want %d checked (403), the rest 429", n, maxFailures, counts, maxFailures)
	}
	if r := right(); r.StatusCode != http.StatusTooManyRequests || r.ErrorCode() != auth.CodeThrottled || r.Header.Get("Retry-After") == "" {
		t.Fatalf("a right code while locked: %d %s Retry-After %q", r.StatusCode, r.Body, r.Header.Get("Retry-After"))
	}
}

const attackers = 30

// wrongCode is the i-th guess of six digits that is none of the codes that would pass.
func wrongCode(i int, valid ...string) string {
	for {
		c := fmt.Sprintf("%06d", i)
		if !slices.Contains(valid, c) {
			return c
		}
		i += 1000
	}
}

// codes are the codes of secret within window steps either side of now.
func (e *env) codes(secret string, window int64) []string {
	var out []string
	for o := -window; o <= window; o++ {
		out = append(out, e.Code(secret, o))
	}
	return out
}

// TestWrongCodesAtOnceAreCappedAtMaxFailures: 30 wrong codes at once, with max_failures 5, get
// exactly 5 of them checked, on every kind of factor.
func TestWrongCodesAtOnceAreCappedAtMaxFailures(t *testing.T) {
	t.Run("totp", capTOTP)
	t.Run("recovery", capRecoveryCodes)
	t.Run("session-token", capSessionTokens)
	t.Run("resync", capResync)
	t.Run("sms", capSMS)
}

// capTOTP: wrong TOTP codes at once in one session.
func capTOTP(t *testing.T) {
	m := &countingMetrics{}
	e := newEnv(t, withLockout(t, 5, m))
	a := e.Client()
	a.Login("alice", testPassword)
	_, secret := a.Enrol("phone")
	e.Clock.Advance(time.Minute)
	b := e.Client()
	b.Login("alice", testPassword)
	valid := e.codes(secret, 1)
	counts := atOnce(t, attackers, func(i int) (*response, error) {
		return b.send("POST", "/.mfa/api/verify", housetest.VerifyRequest{Code: wrongCode(i, valid...)})
	})
	wantCapped(t, counts, attackers, 5, func() *response {
		return b.Do("POST", "/.mfa/api/verify", housetest.VerifyRequest{Code: e.Code(secret, 0)})
	})
	if e.Events("factor_failed") != 5 || e.Events("user_locked") != 1 || m.locks != 1 {
		t.Fatalf("audit: %d factor_failed, %d user_locked, %d lockouts counted", e.Events("factor_failed"), e.Events("user_locked"), m.locks)
	}
	if m.get("virtual/invalid") != 5 || m.get("virtual/throttled") != attackers-5+1 {
		t.Fatalf("metrics: %v", m.v)
	}
	e.Clock.Advance(61 * time.Second)
	if r := b.Do("POST", "/.mfa/api/verify", housetest.VerifyRequest{Code: e.Code(secret, 0)}); r.StatusCode != http.StatusOK {
		t.Fatalf("after the lock: %d %s", r.StatusCode, r.Body)
	}
	if m.get("virtual/success") != 2 { // enabling checked a pair of codes, then this one
		t.Fatalf("metrics: %v", m.v)
	}
}

// capRecoveryCodes: wrong recovery codes at once.
func capRecoveryCodes(t *testing.T) {
	m := &countingMetrics{}
	e := newEnv(t, withLockout(t, 5, m))
	a := e.Client()
	a.Login("alice", testPassword)
	a.Enrol("phone")
	var rc struct{ Codes []string }
	a.Do("POST", "/.mfa/api/recovery-codes", nil).JSON(&rc)
	b := e.Client()
	b.Login("alice", testPassword)
	counts := atOnce(t, attackers, func(i int) (*response, error) {
		return b.send("POST", "/.mfa/api/verify", housetest.VerifyRequest{Code: fmt.Sprintf("AAAA-BBBB-CCCC-%04d", i)})
	})
	wantCapped(t, counts, attackers, 5, func() *response {
		return b.Do("POST", "/.mfa/api/verify", housetest.VerifyRequest{Code: rc.Codes[0]})
	})
	if m.get("recovery/invalid") != 5 || m.get("recovery/throttled") != attackers-5+1 {
		t.Fatalf("metrics: %v", m.v)
	}
}

// withAccessKey gives alice a virtual device and an access key, a minute ago (so the device's
// codes of now are unspent): its serial, its secret, and the key's Authorization value.
func withAccessKey(t *testing.T, e *env) (serial, secret, basic string) {
	t.Helper()
	a := e.Client()
	a.Login("alice", testPassword)
	serial, secret = a.Enrol("phone")
	nk, err := e.Ops.CreateAccessKeyFor(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(time.Minute)
	return serial, secret, housetest.BasicAuth(nk.Key.ID, nk.Secret)
}

// capSessionTokens: GetSessionToken with an access key and wrong codes at once.
func capSessionTokens(t *testing.T) {
	e := newEnv(t, withLockout(t, 5, &countingMetrics{}))
	serial, secret, basic := withAccessKey(t, e)
	api := e.Client()
	valid := e.codes(secret, 1)
	counts := atOnce(t, attackers, func(i int) (*response, error) {
		return api.send("POST", "/.mfa/api/session-token", housetest.SessionTokenRequest{Serial: serial, Code: wrongCode(i, valid...)}, "Authorization", basic)
	})
	wantCapped(t, counts, attackers, 5, func() *response {
		return api.Do("POST", "/.mfa/api/session-token", housetest.SessionTokenRequest{Serial: serial, Code: e.Code(secret, 0)}, "Authorization", basic)
	})
}

// capResync: wrong resync pairs at once.
func capResync(t *testing.T) {
	m := &countingMetrics{}
	e := newEnv(t, withLockout(t, 5, m))
	a := e.Client()
	a.Login("alice", testPassword)
	serial, secret := a.Enrol("phone")
	e.Clock.Advance(time.Minute)
	valid := e.codes(secret, 11) // the resync window, and a step
	counts := atOnce(t, attackers, func(i int) (*response, error) {
		return a.send("POST", "/.mfa/api/devices/"+serial+"/resync", housetest.Pair(wrongCode(i, valid...), wrongCode(i+attackers, valid...)))
	})
	wantCapped(t, counts, attackers, 5, func() *response {
		return a.Do("POST", "/.mfa/api/devices/"+serial+"/resync", housetest.Pair(e.Code(secret, 0), e.Code(secret, 1)))
	})
	if m.get("virtual/invalid") != 5 {
		t.Fatalf("metrics: %v", m.v)
	}
}

// capSMS: wrong SMS codes at once.
func capSMS(t *testing.T) {
	receiver := &smsReceiver{}
	hook := httptest.NewServer(receiver)
	defer hook.Close()
	m := &countingMetrics{}
	e := newEnv(t, withLockout(t, 5, m), withSMS(hook.URL))
	const phone = "+15551234567"
	a := e.Client()
	a.Login("alice", testPassword)
	var created struct{ Serial string }
	a.Do("POST", "/.mfa/api/devices/sms", housetest.SMSDeviceRequest{Name: "mobile", Phone: phone}).JSON(&created)
	if r := a.Do("POST", "/.mfa/api/devices/"+created.Serial+"/enable", housetest.TwoCodes{Code1: receiver.lastCode(t, phone)}); r.StatusCode != http.StatusOK {
		t.Fatalf("enable: %d %s", r.StatusCode, r.Body)
	}
	e.Clock.Advance(time.Minute)
	b := e.Client()
	b.Login("alice", testPassword)
	b.Do("POST", "/.mfa/api/sms/send", housetest.SMSSendRequest{Serial: created.Serial})
	code := receiver.lastCode(t, phone)
	counts := atOnce(t, attackers, func(i int) (*response, error) {
		return b.send("POST", "/.mfa/api/verify", housetest.VerifyRequest{Serial: created.Serial, Code: wrongCode(i, code)})
	})
	wantCapped(t, counts, attackers, 5, func() *response {
		return b.Do("POST", "/.mfa/api/verify", housetest.VerifyRequest{Serial: created.Serial, Code: code})
	})
	if m.get("sms/invalid") != 5 || m.get("sms/throttled") != attackers-5+1 {
		t.Fatalf("metrics: %v", m.v)
	}
	if r := b.Do("POST", "/.mfa/api/sms/send", housetest.SMSSendRequest{Serial: created.Serial}); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("sending a code while locked: %d", r.StatusCode)
	}
}

func TestSecurityKeyAnswersGoThroughTheLockout(t *testing.T) {
	m := &countingMetrics{}
	e := newEnv(t, withWebAuthn, withLockout(t, 3, m))
	a := e.Client()
	a.Login("alice", testPassword)
	key := e.newSoftKey()
	if r := a.registerKey(key, "yubikey"); r.StatusCode != http.StatusOK {
		t.Fatalf("register: %d %s", r.StatusCode, r.Body)
	}
	handle := e.userHandle("alice")
	b := e.Client()
	b.Login("alice", testPassword)
	begin := func() string {
		challenge, _ := ceremonyOf(t, b.Do("POST", "/.mfa/api/webauthn/login/begin", nil))
		return challenge
	}
	// An answer with no ceremony waiting checked nothing: it is not counted.
	if r := b.Do("POST", "/.mfa/api/webauthn/login/finish", json.RawMessage(key.assert("nothing-began", handle))); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("an answer with no ceremony: %d %s", r.StatusCode, r.Body)
	}
	stranger := e.newSoftKey() // not alice's key
	for i := range 3 {
		r := b.Do("POST", "/.mfa/api/webauthn/login/finish", json.RawMessage(stranger.assert(begin(), handle)))
		if r.StatusCode != http.StatusForbidden {
			t.Fatalf("wrong key %d: %d %s", i+1, r.StatusCode, r.Body)
		}
	}
	if r := b.Do("POST", "/.mfa/api/webauthn/login/begin", nil); r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("begin while locked: %d %s", r.StatusCode, r.Body)
	}
	if m.get("webauthn/invalid") != 3 || m.get("webauthn/throttled") != 1 || e.Events("user_locked") != 1 {
		t.Fatalf("metrics %v, user_locked %d", m.v, e.Events("user_locked"))
	}
	// A ceremony begun before the lock, finished with the right key during it: refused.
	e.Clock.Advance(61 * time.Second)
	challenge := begin()
	for range 3 {
		if _, err := e.Ops.Lockout.Reserve(t.Context(), "alice"); err != nil {
			t.Fatal(err)
		}
	}
	if r := b.Do("POST", "/.mfa/api/webauthn/login/finish", json.RawMessage(key.assert(challenge, handle))); r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("the right key while locked: %d %s", r.StatusCode, r.Body)
	}
	e.Clock.Advance(3 * time.Minute)
	r := b.Do("POST", "/.mfa/api/webauthn/login/finish", json.RawMessage(key.assert(begin(), handle)))
	if r.StatusCode != http.StatusOK || m.get("webauthn/success") != 1 {
		t.Fatalf("after the lock: %d %s, metrics %v", r.StatusCode, r.Body, m.v)
	}
}

// TestOneCodeSentManyTimesAtOncePassesOnce: a code raced through two doors at once (verify and
// GetSessionToken) is accepted once; every other copy is a replay, counted as a failure.
func TestOneCodeSentManyTimesAtOncePassesOnce(t *testing.T) {
	m := &countingMetrics{}
	e := newEnv(t, withLockout(t, 50, m))
	serial, secret, basic := withAccessKey(t, e)
	code := e.Code(secret, 0)
	b, api := e.Client(), e.Client()
	b.Login("alice", testPassword)
	counts := atOnce(t, 20, func(i int) (*response, error) {
		if i%2 == 0 {
			return b.send("POST", "/.mfa/api/verify", housetest.VerifyRequest{Code: code})
		}
		return api.send("POST", "/.mfa/api/session-token", housetest.SessionTokenRequest{Serial: serial, Code: code}, "Authorization", basic)
	})
	if counts[http.StatusOK] != 1 || counts[http.StatusForbidden] != 19 {
		t.Fatalf("one code sent 20 times at once: %v; want one 200, 19 refused", counts)
	}
	if e.Events("code_replayed") != 19 || m.get("virtual/replayed") != 19 {
		t.Fatalf("replays: %d audited, metrics %v", e.Events("code_replayed"), m.v)
	}
}
