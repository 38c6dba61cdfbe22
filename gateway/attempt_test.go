package gateway

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

	"github.com/caddyserver/certmagic"

	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/store/caddystore"
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
func (m *countingMetrics) Decision(string) {}
func (m *countingMetrics) Lockout()        { m.mu.Lock(); m.locks++; m.mu.Unlock() }
func (m *countingMetrics) TokenIssued()    {}

func (m *countingMetrics) get(key string) int { m.mu.Lock(); defer m.mu.Unlock(); return m.v[key] }

// withLockout sets max_failures (a minute's lock, doubling) and counts metrics into m.
func withLockout(t *testing.T, maxFailures int, m *countingMetrics) envOption {
	dir := t.TempDir()
	return func(_ *Options, s *Services) {
		st := caddystore.New(&certmagic.FileStorage{Path: dir}, "mfa")
		s.Lockout = factors.NewLockout(st, s.Now, factors.LockoutPolicy{MaxFailures: maxFailures, BaseDelay: time.Minute, MaxDelay: time.Hour})
		s.Metrics = m
	}
}

// send is client.do for use from many goroutines at once: errors are returned, not fatal.
func (c *client) send(method, path string, body any, headers ...string) (*response, error) {
	raw, _ := json.Marshal(body)
	req, err := http.NewRequest(method, c.e.server.URL+path, bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &response{Response: resp, body: b}, nil
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
			if r.StatusCode == http.StatusTooManyRequests && (r.errorCode() != CodeThrottled || r.Header.Get("Retry-After") == "") {
				t.Errorf("a 429 without Throttled and Retry-After: %s %q", r.body, r.Header.Get("Retry-After"))
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
	if r := right(); r.StatusCode != http.StatusTooManyRequests || r.errorCode() != CodeThrottled || r.Header.Get("Retry-After") == "" {
		t.Fatalf("a right code while locked: %d %s Retry-After %q", r.StatusCode, r.body, r.Header.Get("Retry-After"))
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
		out = append(out, e.code(secret, o))
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
	a := e.client()
	a.login("alice", testPassword)
	_, secret := a.enrol("phone")
	e.clock.advance(time.Minute)
	b := e.client()
	b.login("alice", testPassword)
	valid := e.codes(secret, 1)
	counts := atOnce(t, attackers, func(i int) (*response, error) {
		return b.send("POST", "/.mfa/api/verify", verifyRequest{Code: wrongCode(i, valid...)})
	})
	wantCapped(t, counts, attackers, 5, func() *response {
		return b.do("POST", "/.mfa/api/verify", verifyRequest{Code: e.code(secret, 0)})
	})
	if e.events("factor_failed") != 5 || e.events("user_locked") != 1 || m.locks != 1 {
		t.Fatalf("audit: %d factor_failed, %d user_locked, %d lockouts counted", e.events("factor_failed"), e.events("user_locked"), m.locks)
	}
	if m.get("virtual/failed") != 5 || m.get("virtual/throttled") != attackers-5+1 {
		t.Fatalf("metrics: %v", m.v)
	}
	e.clock.advance(61 * time.Second)
	if r := b.do("POST", "/.mfa/api/verify", verifyRequest{Code: e.code(secret, 0)}); r.StatusCode != http.StatusOK {
		t.Fatalf("after the lock: %d %s", r.StatusCode, r.body)
	}
	if m.get("virtual/passed") != 2 { // enabling checked a pair of codes, then this one
		t.Fatalf("metrics: %v", m.v)
	}
}

// capRecoveryCodes: wrong recovery codes at once.
func capRecoveryCodes(t *testing.T) {
	m := &countingMetrics{}
	e := newEnv(t, withLockout(t, 5, m))
	a := e.client()
	a.login("alice", testPassword)
	a.enrol("phone")
	var rc struct{ Codes []string }
	a.do("POST", "/.mfa/api/recovery-codes", nil).json(&rc)
	b := e.client()
	b.login("alice", testPassword)
	counts := atOnce(t, attackers, func(i int) (*response, error) {
		return b.send("POST", "/.mfa/api/verify", verifyRequest{Code: fmt.Sprintf("AAAA-BBBB-CCCC-%04d", i)})
	})
	wantCapped(t, counts, attackers, 5, func() *response {
		return b.do("POST", "/.mfa/api/verify", verifyRequest{Code: rc.Codes[0]})
	})
	if m.get("recovery/failed") != 5 || m.get("recovery/throttled") != attackers-5+1 {
		t.Fatalf("metrics: %v", m.v)
	}
}

// withAccessKey gives alice a virtual device and an access key, a minute ago (so the device's
// codes of now are unspent): its serial, its secret, and the key's Authorization value.
func withAccessKey(t *testing.T, e *env) (serial, secret, basic string) {
	t.Helper()
	a := e.client()
	a.login("alice", testPassword)
	serial, secret = a.enrol("phone")
	nk, err := e.svc.createAccessKey(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	e.clock.advance(time.Minute)
	return serial, secret, basicAuth(nk.Key.ID, nk.Secret)
}

// capSessionTokens: GetSessionToken with an access key and wrong codes at once.
func capSessionTokens(t *testing.T) {
	e := newEnv(t, withLockout(t, 5, &countingMetrics{}))
	serial, secret, basic := withAccessKey(t, e)
	api := e.client()
	valid := e.codes(secret, 1)
	counts := atOnce(t, attackers, func(i int) (*response, error) {
		return api.send("POST", "/.mfa/api/session-token", sessionTokenRequest{Serial: serial, Code: wrongCode(i, valid...)}, "Authorization", basic)
	})
	wantCapped(t, counts, attackers, 5, func() *response {
		return api.do("POST", "/.mfa/api/session-token", sessionTokenRequest{Serial: serial, Code: e.code(secret, 0)}, "Authorization", basic)
	})
}

// capResync: wrong resync pairs at once.
func capResync(t *testing.T) {
	m := &countingMetrics{}
	e := newEnv(t, withLockout(t, 5, m))
	a := e.client()
	a.login("alice", testPassword)
	serial, secret := a.enrol("phone")
	e.clock.advance(time.Minute)
	valid := e.codes(secret, 11) // the resync window, and a step
	counts := atOnce(t, attackers, func(i int) (*response, error) {
		return a.send("POST", "/.mfa/api/devices/"+serial+"/resync", twoCodes{wrongCode(i, valid...), wrongCode(i+attackers, valid...)})
	})
	wantCapped(t, counts, attackers, 5, func() *response {
		return a.do("POST", "/.mfa/api/devices/"+serial+"/resync", twoCodes{e.code(secret, 0), e.code(secret, 1)})
	})
	if m.get("virtual/failed") != 5 {
		t.Fatalf("metrics: %v", m.v)
	}
}

// capSMS: wrong SMS codes at once.
func capSMS(t *testing.T) {
	receiver := &smsReceiver{}
	hook := httptest.NewServer(receiver)
	defer hook.Close()
	m := &countingMetrics{}
	e := newEnv(t, withLockout(t, 5, m), func(_ *Options, s *Services) {
		s.SMS, _ = factors.NewSMS(s.Devices, &factors.Webhook{URL: hook.URL}, 5*time.Minute, "test", testSMSKey)
	})
	const phone = "+15551234567"
	a := e.client()
	a.login("alice", testPassword)
	var created struct{ Serial string }
	a.do("POST", "/.mfa/api/devices/sms", smsDeviceRequest{Name: "mobile", Phone: phone}).json(&created)
	if r := a.do("POST", "/.mfa/api/devices/"+created.Serial+"/enable", twoCodes{Code1: receiver.lastCode(t, phone)}); r.StatusCode != http.StatusOK {
		t.Fatalf("enable: %d %s", r.StatusCode, r.body)
	}
	e.clock.advance(time.Minute)
	b := e.client()
	b.login("alice", testPassword)
	b.do("POST", "/.mfa/api/sms/send", smsSendRequest{Serial: created.Serial})
	code := receiver.lastCode(t, phone)
	counts := atOnce(t, attackers, func(i int) (*response, error) {
		return b.send("POST", "/.mfa/api/verify", verifyRequest{Serial: created.Serial, Code: wrongCode(i, code)})
	})
	wantCapped(t, counts, attackers, 5, func() *response {
		return b.do("POST", "/.mfa/api/verify", verifyRequest{Serial: created.Serial, Code: code})
	})
	if m.get("sms/failed") != 5 || m.get("sms/throttled") != attackers-5+1 {
		t.Fatalf("metrics: %v", m.v)
	}
	if r := b.do("POST", "/.mfa/api/sms/send", smsSendRequest{Serial: created.Serial}); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("sending a code while locked: %d", r.StatusCode)
	}
}

func TestSecurityKeyAnswersGoThroughTheLockout(t *testing.T) {
	m := &countingMetrics{}
	e := newEnv(t, withWebAuthn, withLockout(t, 3, m))
	a := e.client()
	a.login("alice", testPassword)
	key := e.newSoftKey()
	if r := a.registerKey(key, "yubikey"); r.StatusCode != http.StatusOK {
		t.Fatalf("register: %d %s", r.StatusCode, r.body)
	}
	handle := e.userHandle("alice")
	b := e.client()
	b.login("alice", testPassword)
	begin := func() string {
		challenge, _ := ceremonyOf(t, b.do("POST", "/.mfa/api/webauthn/login/begin", nil))
		return challenge
	}
	// An answer with no ceremony waiting checked nothing: it is not counted.
	if r := b.do("POST", "/.mfa/api/webauthn/login/finish", json.RawMessage(key.assert("nothing-began", handle))); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("an answer with no ceremony: %d %s", r.StatusCode, r.body)
	}
	stranger := e.newSoftKey() // not alice's key
	for i := range 3 {
		r := b.do("POST", "/.mfa/api/webauthn/login/finish", json.RawMessage(stranger.assert(begin(), handle)))
		if r.StatusCode != http.StatusForbidden {
			t.Fatalf("wrong key %d: %d %s", i+1, r.StatusCode, r.body)
		}
	}
	if r := b.do("POST", "/.mfa/api/webauthn/login/begin", nil); r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("begin while locked: %d %s", r.StatusCode, r.body)
	}
	if m.get("webauthn/failed") != 3 || m.get("webauthn/throttled") != 1 || e.events("user_locked") != 1 {
		t.Fatalf("metrics %v, user_locked %d", m.v, e.events("user_locked"))
	}
	// A ceremony begun before the lock, finished with the right key during it: refused.
	e.clock.advance(61 * time.Second)
	challenge := begin()
	for range 3 {
		if _, err := e.svc.Lockout.Reserve(t.Context(), "alice"); err != nil {
			t.Fatal(err)
		}
	}
	if r := b.do("POST", "/.mfa/api/webauthn/login/finish", json.RawMessage(key.assert(challenge, handle))); r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("the right key while locked: %d %s", r.StatusCode, r.body)
	}
	e.clock.advance(3 * time.Minute)
	r := b.do("POST", "/.mfa/api/webauthn/login/finish", json.RawMessage(key.assert(begin(), handle)))
	if r.StatusCode != http.StatusOK || m.get("webauthn/passed") != 1 {
		t.Fatalf("after the lock: %d %s, metrics %v", r.StatusCode, r.body, m.v)
	}
}

// TestOneCodeSentManyTimesAtOncePassesOnce: a code raced through two doors at once (verify and
// GetSessionToken) is accepted once; every other copy is a replay, counted as a failure.
func TestOneCodeSentManyTimesAtOncePassesOnce(t *testing.T) {
	m := &countingMetrics{}
	e := newEnv(t, withLockout(t, 50, m))
	serial, secret, basic := withAccessKey(t, e)
	code := e.code(secret, 0)
	b, api := e.client(), e.client()
	b.login("alice", testPassword)
	counts := atOnce(t, 20, func(i int) (*response, error) {
		if i%2 == 0 {
			return b.send("POST", "/.mfa/api/verify", verifyRequest{Code: code})
		}
		return api.send("POST", "/.mfa/api/session-token", sessionTokenRequest{Serial: serial, Code: code}, "Authorization", basic)
	})
	if counts[http.StatusOK] != 1 || counts[http.StatusForbidden] != 19 {
		t.Fatalf("one code sent 20 times at once: %v; want one 200, 19 refused", counts)
	}
	if e.events("code_replayed") != 19 || m.get("virtual/replayed") != 19 {
		t.Fatalf("replays: %d audited, metrics %v", e.events("code_replayed"), m.v)
	}
}
