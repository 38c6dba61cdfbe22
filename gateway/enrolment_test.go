package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/session"
)

const tokenSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" // an operator's hardware token: SHA1, 6 digits, 30 s

// importToken puts an unassigned hardware token in the pool, as an operator does.
func (e *env) importToken(serial string) {
	e.t.Helper()
	w := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/mfa/devices/hardware", strings.NewReader("serial,secret\n"+serial+","+tokenSecret+"\n"))
	req.Header.Set("Content-Type", "text/csv")
	NewAdmin(e.svc).ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		e.t.Fatalf("import: %d %s", w.Code, w.Body)
	}
}

// withEveryDevice turns SMS (to a receiver that keeps the messages) and security keys on.
func withEveryDevice(t *testing.T, receiver *smsReceiver) envOption {
	hook := httptest.NewServer(receiver)
	t.Cleanup(hook.Close)
	return func(o *Options, s *Services) {
		s.SMS, _ = factors.NewSMS(s.Devices, &factors.Webhook{URL: hook.URL}, 5*time.Minute, "test", testSMSKey)
		withWebAuthn(o, s)
	}
}

// mfaOf is the session's MFA state as whoami tells it.
func (c *client) mfaOf() mfaState {
	c.e.t.Helper()
	var who whoamiResponse
	c.do("GET", "/.mfa/api/whoami", nil).json(&who)
	return who.MFA
}

// addAttempts tries every way of adding a device and returns each answer by name.
func (c *client) addAttempts(headers ...string) map[string]*response {
	return map[string]*response{
		"virtual":  c.do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "intruder"}, headers...),
		"sms":      c.do("POST", "/.mfa/api/devices/sms", smsDeviceRequest{Name: "intruder", Phone: "+15550000000"}, headers...),
		"key":      c.do("POST", "/.mfa/api/webauthn/register/begin", map[string]string{"name": "intruder"}, headers...),
		"keydone":  c.do("POST", "/.mfa/api/webauthn/register/finish", map[string]string{}, headers...),
		"hardware": c.do("POST", "/.mfa/api/devices/GAHT77777777/enable", twoCodes{c.e.code(tokenSecret, -1), c.e.code(tokenSecret, 0)}, headers...),
	}
}

func TestAStaleFactorCannotAddADevice(t *testing.T) {
	receiver := &smsReceiver{}
	e := newEnv(t, withEveryDevice(t, receiver))
	e.importToken("GAHT77777777")
	a := e.client()
	a.login("alice", testPassword)
	a.enrol("phone")
	for range 2 { // 16 minutes on: the factor is stale, the session alive
		e.clock.advance(8 * time.Minute)
		a.do("GET", "/app", nil)
	}
	for name, r := range a.addAttempts() {
		if r.StatusCode != http.StatusUnauthorized || r.errorCode() != CodeMFARequired {
			t.Errorf("%s with a 16-minute-old factor: %d %s", name, r.StatusCode, r.body)
		}
	}
	if ds, _ := e.svc.Devices.ForUser(t.Context(), "alice"); len(ds) != 1 {
		t.Fatalf("alice has %d devices, want 1", len(ds))
	}
	if r := a.do("GET", "/.mfa/devices", nil); !strings.Contains(string(r.body), "To add a device, first") {
		t.Fatal("the devices page offers to add a device to a stale session")
	}
}

func TestALaterDeviceLeavesTheSessionAsItWas(t *testing.T) {
	e := newEnv(t)
	a := e.client()
	a.login("alice", testPassword)
	phone, _ := a.enrol("phone")
	e.clock.advance(5 * time.Minute)
	var cv createVirtualResponse
	if r := a.do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "tablet"}); r.StatusCode != http.StatusOK {
		t.Fatalf("a second device with a fresh factor: %d %s", r.StatusCode, r.body)
	} else {
		r.json(&cv)
	}
	r := a.do("POST", "/.mfa/api/devices/"+cv.Serial+"/enable", twoCodes{e.code(cv.Secret, -1), e.code(cv.Secret, 0)})
	var out struct {
		MFA mfaState `json:"mfa"`
	}
	r.json(&out)
	if r.StatusCode != http.StatusOK || out.MFA.Serial != phone || out.MFA.Age == nil || *out.MFA.Age != 300 {
		t.Fatalf("enabling a second device: %d %s; want the phone's factor, 300 s old", r.StatusCode, r.body)
	}
	if m := a.mfaOf(); m.Serial != phone || *m.Age != 300 {
		t.Fatalf("the session after a second device: %+v", m)
	}

	// A device made while the factor was fresh is not enabled once it has gone stale.
	if r := a.do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "laptop"}); r.StatusCode != http.StatusOK {
		t.Fatalf("a third device: %d %s", r.StatusCode, r.body)
	} else {
		r.json(&cv)
	}
	e.clock.advance(11 * time.Minute)
	if r := a.do("POST", "/.mfa/api/devices/"+cv.Serial+"/enable", twoCodes{e.code(cv.Secret, -1), e.code(cv.Secret, 0)}); r.StatusCode != http.StatusUnauthorized || r.errorCode() != CodeMFARequired {
		t.Fatalf("enabling with a 16-minute-old factor: %d %s", r.StatusCode, r.body)
	}
}

func TestAFactorFromARemovedDeviceAddsNothing(t *testing.T) {
	e := newEnv(t)
	a := e.client()
	a.login("alice", testPassword)
	a.enrol("phone")
	var cv createVirtualResponse
	a.do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "tablet"}).json(&cv)
	a.do("POST", "/.mfa/api/devices/"+cv.Serial+"/enable", twoCodes{e.code(cv.Secret, -1), e.code(cv.Secret, 0)})
	e.clock.advance(time.Minute)
	b := e.client()
	b.login("alice", testPassword)
	var vr struct {
		CSRFToken string `json:"csrf_token"`
	}
	b.do("POST", "/.mfa/api/verify", verifyRequest{Serial: cv.Serial, Code: e.code(cv.Secret, 0)}).json(&vr)
	b.csrf = vr.CSRFToken
	if r := b.do("POST", "/.mfa/api/devices/"+cv.Serial+"/deactivate", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("deactivate: %d %s", r.StatusCode, r.body)
	}
	b.csrf = e.svc.Cookies.CSRFToken(sessionOf(t, b))
	if r := b.do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "watch"}); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a device added on the factor of the device just removed: %d %s", r.StatusCode, r.body)
	}
}

// sessionOf reads the client's session cookie as the gateway does.
func sessionOf(t *testing.T, c *client) *session.Claims {
	t.Helper()
	req := httptest.NewRequest("GET", c.e.server.URL+"/", nil)
	for _, k := range c.http.Jar.Cookies(mustURL(c.e.server.URL)) {
		req.AddCookie(k)
	}
	claims, ok := c.e.svc.Cookies.Read(req)
	if !ok {
		t.Fatal("no session cookie")
	}
	return &claims
}

func TestRacingEnrolmentsPassAtMostOneFactor(t *testing.T) {
	e := newEnv(t)
	a := e.client()
	a.login("alice", testPassword)
	var devices []createVirtualResponse
	for _, name := range []string{"phone", "tablet", "laptop"} {
		var cv createVirtualResponse
		a.do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": name}).json(&cv)
		devices = append(devices, cv)
	}
	var mu sync.Mutex
	passed, enabled := 0, 0
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, cv := range devices {
		wg.Go(func() {
			<-start
			r, err := a.send("POST", "/.mfa/api/devices/"+cv.Serial+"/enable", twoCodes{e.code(cv.Secret, -1), e.code(cv.Secret, 0)})
			if err != nil {
				t.Error(err)
				return
			}
			var out struct {
				MFA mfaState `json:"mfa"`
			}
			_ = json.Unmarshal(r.body, &out)
			mu.Lock()
			defer mu.Unlock()
			if r.StatusCode == http.StatusOK {
				enabled++
			}
			if out.MFA.Present {
				passed++
			}
		})
	}
	close(start)
	wg.Wait()
	if enabled == 0 || passed > 1 {
		t.Fatalf("three enrolments at once in one session: %d enabled, %d passed a factor; want at most one", enabled, passed)
	}
}

func TestARecoveryCodeSessionEnrolsAReplacement(t *testing.T) {
	e := newEnv(t)
	a := e.client()
	a.login("alice", testPassword)
	a.enrol("phone")
	var rc struct{ Codes []string }
	a.do("POST", "/.mfa/api/recovery-codes", nil).json(&rc)

	// The phone is lost: a recovery code, then a replacement.
	lost := e.client()
	lost.login("alice", testPassword)
	var vr struct {
		CSRFToken string `json:"csrf_token"`
	}
	lost.do("POST", "/.mfa/api/verify", verifyRequest{Code: rc.Codes[0]}).json(&vr)
	lost.csrf = vr.CSRFToken
	e.clock.advance(time.Minute)
	var cv createVirtualResponse
	if r := lost.do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "new-phone"}); r.StatusCode != http.StatusOK {
		t.Fatalf("a replacement in a recovery session: %d %s", r.StatusCode, r.body)
	} else {
		r.json(&cv)
	}
	if r := lost.do("POST", "/.mfa/api/devices/"+cv.Serial+"/enable", twoCodes{e.code(cv.Secret, -1), e.code(cv.Secret, 0)}); r.StatusCode != http.StatusOK {
		t.Fatalf("enable the replacement: %d %s", r.StatusCode, r.body)
	}
	if m := lost.mfaOf(); m.Method != "recovery" {
		t.Fatalf("after enrolling a replacement the method is %q, want recovery until the new device is used", m.Method)
	}
	e.clock.advance(30 * time.Second)
	lost.do("POST", "/.mfa/api/verify", verifyRequest{Serial: cv.Serial, Code: e.code(cv.Secret, 0)}).json(&vr)
	lost.csrf = vr.CSRFToken
	if m := lost.mfaOf(); m.Method != "virtual" || m.Serial != cv.Serial {
		t.Fatalf("after a factor with the new device: %+v", m)
	}

	// A recovery code used 16 minutes ago adds nothing.
	stale := e.client()
	stale.login("alice", testPassword)
	stale.do("POST", "/.mfa/api/verify", verifyRequest{Code: rc.Codes[1]}).json(&vr)
	stale.csrf = vr.CSRFToken
	for range 2 {
		e.clock.advance(8 * time.Minute)
		stale.do("GET", "/app", nil)
	}
	if r := stale.do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "another"}); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a device on a 16-minute-old recovery code: %d %s", r.StatusCode, r.body)
	}
}

func TestSecurityKeysFollowTheEnrolmentRules(t *testing.T) {
	e := newEnv(t, withWebAuthn)
	a := e.client()
	a.login("alice", testPassword)
	first := e.newSoftKey()
	r := a.registerKey(first, "yubikey")
	var out struct {
		Serial    string   `json:"serial"`
		MFA       mfaState `json:"mfa"`
		CSRFToken string   `json:"csrf_token"`
	}
	r.json(&out)
	if r.StatusCode != http.StatusOK || out.MFA.Method != "webauthn" || out.MFA.Serial != out.Serial {
		t.Fatalf("the first key passes a factor: %d %s", r.StatusCode, r.body)
	}
	a.csrf = out.CSRFToken
	firstSerial := out.Serial
	e.clock.advance(5 * time.Minute)
	r = a.registerKey(e.newSoftKey(), "backup")
	r.json(&out)
	if r.StatusCode != http.StatusOK || out.MFA.Serial != firstSerial || *out.MFA.Age != 300 {
		t.Fatalf("a second key leaves the session's factor as it was: %d %s", r.StatusCode, r.body)
	}
	// A ceremony begun while the factor was fresh is not finished once it is stale.
	challenge, _ := ceremonyOf(t, a.do("POST", "/.mfa/api/webauthn/register/begin", map[string]string{"name": "late"}))
	e.clock.advance(11 * time.Minute)
	if r := a.do("POST", "/.mfa/api/webauthn/register/finish", json.RawMessage(e.newSoftKey().register(challenge))); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("finishing a registration with a stale factor: %d %s", r.StatusCode, r.body)
	}
}

// basicAuth is the Authorization header of an access key.
func basicAuth(id, secret string) string {
	req := httptest.NewRequest("GET", "/", nil)
	req.SetBasicAuth(id, secret)
	return req.Header.Get("Authorization")
}

func TestAnAccessKeyAloneCannotEnrol(t *testing.T) {
	receiver := &smsReceiver{}
	e := newEnv(t, withEveryDevice(t, receiver))
	e.importToken("GAHT77777777")
	ctx := t.Context()
	// bob has no device; a thief holds the access key an operator once made him.
	nk, err := e.svc.createAccessKey(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	basic := basicAuth(nk.Key.ID, nk.Secret)
	thief := e.client()
	var tok sessionTokenResponse
	if r := thief.do("POST", "/.mfa/api/session-token", nil, "Authorization", basic); r.StatusCode != http.StatusOK {
		t.Fatalf("a token without MFA: %d %s", r.StatusCode, r.body)
	} else {
		r.json(&tok)
	}
	for cred, header := range map[string]string{"an access key": basic, "a session token": "Bearer " + tok.SessionToken} {
		for name, r := range thief.addAttempts("Authorization", header) {
			if r.StatusCode != http.StatusForbidden || r.errorCode() != CodeAccessDenied {
				t.Errorf("%s with %s alone: %d %s", name, cred, r.StatusCode, r.body)
			}
		}
	}
	if ds, _ := e.svc.Devices.ForUser(ctx, "bob"); len(ds) != 0 {
		t.Fatalf("the access key enrolled %d devices for bob", len(ds))
	}
	if d, _ := e.svc.Devices.Get(ctx, "GAHT77777777"); d.User != "" {
		t.Fatal("the access key took the hardware token")
	}
	if r := thief.do("POST", "/.mfa/api/session-token", sessionTokenRequest{Serial: "GAHT77777777", Code: e.code(tokenSecret, 0)}, "Authorization", basic); r.StatusCode != http.StatusForbidden {
		t.Fatalf("an MFA token for bob: %d %s", r.StatusCode, r.body)
	}

	// After an operator's reset the key still works, and still enrols nothing.
	a := e.client()
	a.login("alice", testPassword)
	a.enrol("phone")
	ak, _ := e.svc.createAccessKey(ctx, "alice")
	if code, _, _ := adminCall(t, e, NewAdmin(e.svc), "POST", "/mfa/users/alice/reset", nil); code != http.StatusOK {
		t.Fatalf("reset: %d", code)
	}
	if r := thief.do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "x"}, "Authorization", basicAuth(ak.Key.ID, ak.Secret)); r.StatusCode != http.StatusForbidden {
		t.Fatalf("enrolling a reset user with her access key: %d %s", r.StatusCode, r.body)
	}
	// bob's own password sign-in enrols.
	b := e.client()
	b.login("bob", testPassword)
	if r := b.do("POST", "/.mfa/api/devices/GAHT77777777/enable", twoCodes{e.code(tokenSecret, -1), e.code(tokenSecret, 0)}); r.StatusCode != http.StatusOK {
		t.Fatalf("bob assigns the token himself: %d %s", r.StatusCode, r.body)
	}
}

// TestEnrolmentIsNoFresherThanTheRoute: under a route max_age shorter than 15 minutes, a factor
// too old for the route is too old to add a device with, to mint recovery codes or access keys,
// or to remove a device, so none of them buys a factor the route would refuse.
func TestEnrolmentIsNoFresherThanTheRoute(t *testing.T) {
	e := newEnv(t, func(o *Options, _ *Services) {
		o.Policy, _ = policy.Compile(policy.Shortcuts{RequireMFA: true, MaxAge: time.Minute}.Document(true))
	})
	c := e.client()
	c.login("alice", testPassword)
	c.enrol("phone")
	e.clock.advance(71 * time.Second)
	if r := c.do("GET", "/app", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the route with a 71 s old factor: %d", r.StatusCode)
	}
	r := c.do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "thief"})
	if r.StatusCode != http.StatusUnauthorized || r.errorCode() != CodeMFARequired || !strings.Contains(string(r.body), "60 seconds") {
		t.Fatalf("adding a device with a factor too old for the route: %d %s", r.StatusCode, r.body)
	}
	// Nor recovery codes (which pass a fresh factor), access keys, or removing a device.
	for _, path := range []string{"/.mfa/api/recovery-codes", "/.mfa/api/access-keys", "/.mfa/api/devices/caddy-mfa:alice:phone/deactivate"} {
		if r := c.do("POST", path, nil); r.StatusCode != http.StatusUnauthorized || r.errorCode() != CodeMFARequired {
			t.Errorf("%s with a factor too old for the route: %d %s", path, r.StatusCode, r.body)
		}
	}
}
