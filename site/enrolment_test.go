package site_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/admin"
	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/gate"
	"github.com/caddy-mfa/caddy-mfa/internal/housetest"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/session"
	"github.com/caddy-mfa/caddy-mfa/web"
)

const tokenSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" // an operator's hardware token: SHA1, 6 digits, 30 s

// importToken puts an unassigned hardware token in the pool, as an operator does.
func (e *env) importToken(serial string) {
	e.T.Helper()
	w := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/mfa/devices/hardware", strings.NewReader("serial,secret\n"+serial+","+tokenSecret+"\n"))
	req.Header.Set("Content-Type", "text/csv")
	admin.New(e.Ops).ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		e.T.Fatalf("import: %d %s", w.Code, w.Body)
	}
}

// withEveryDevice turns SMS (to a receiver that keeps the messages) and security keys on.
func withEveryDevice(t *testing.T, receiver *smsReceiver) envOption {
	hook := httptest.NewServer(receiver)
	t.Cleanup(hook.Close)
	return func(o *gate.Options, c *auth.Config, d *auth.Deps) {
		withSMS(hook.URL)(o, c, d)
		withWebAuthn(o, c, d)
	}
}

// mfaOf is the session's MFA state as whoami tells it.
func (c *client) mfaOf() housetest.MFAState {
	c.e.T.Helper()
	var who housetest.WhoAmI
	c.Do("GET", "/.mfa/api/whoami", nil).JSON(&who)
	return who.MFA
}

// addAttempts tries every way of adding a device and returns each answer by name.
func (c *client) addAttempts(headers ...string) map[string]*response {
	return map[string]*response{
		"virtual":  c.Do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "intruder"}, headers...),
		"sms":      c.Do("POST", "/.mfa/api/devices/sms", housetest.SMSDeviceRequest{Name: "intruder", Phone: "+15550000000"}, headers...),
		"key":      c.Do("POST", "/.mfa/api/webauthn/register/begin", map[string]string{"name": "intruder"}, headers...),
		"keydone":  c.Do("POST", "/.mfa/api/webauthn/register/finish", map[string]string{}, headers...),
		"hardware": c.Do("POST", "/.mfa/api/devices/GAHT77777777/enable", housetest.Pair(c.e.Code(tokenSecret, -1), c.e.Code(tokenSecret, 0)), headers...),
	}
}

func TestAStaleFactorCannotAddADevice(t *testing.T) {
	receiver := &smsReceiver{}
	e := newEnv(t, withEveryDevice(t, receiver))
	e.importToken("GAHT77777777")
	a := e.Client()
	a.Login("alice", testPassword)
	a.Enrol("phone")
	for range 2 { // 16 minutes on: the factor is stale, the session alive
		e.Clock.Advance(8 * time.Minute)
		a.Do("GET", "/app", nil)
	}
	for name, r := range a.addAttempts() {
		if r.StatusCode != http.StatusUnauthorized || r.ErrorCode() != auth.CodeMFARequired {
			t.Errorf("%s with a 16-minute-old factor: %d %s", name, r.StatusCode, r.Body)
		}
	}
	if ds, _ := e.Ops.Devices.ForUser(t.Context(), "alice"); len(ds) != 1 {
		t.Fatalf("alice has %d devices, want 1", len(ds))
	}
	if r := a.Do("GET", "/.mfa/devices", nil); !strings.Contains(string(r.Body), "To add a device, first") {
		t.Fatal("the devices page offers to add a device to a stale session")
	}
}

func TestALaterDeviceLeavesTheSessionAsItWas(t *testing.T) {
	e := newEnv(t)
	a := e.Client()
	a.Login("alice", testPassword)
	phone, _ := a.Enrol("phone")
	e.Clock.Advance(5 * time.Minute)
	var cv web.VirtualDevice
	if r := a.Do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "tablet"}); r.StatusCode != http.StatusOK {
		t.Fatalf("a second device with a fresh factor: %d %s", r.StatusCode, r.Body)
	} else {
		r.JSON(&cv)
	}
	r := a.Do("POST", "/.mfa/api/devices/"+cv.Serial+"/enable", housetest.Pair(e.Code(cv.Secret, -1), e.Code(cv.Secret, 0)))
	var out struct {
		MFA housetest.MFAState `json:"mfa"`
	}
	r.JSON(&out)
	if r.StatusCode != http.StatusOK || out.MFA.Serial != phone || out.MFA.Age == nil || *out.MFA.Age != 300 {
		t.Fatalf("enabling a second device: %d %s; want the phone's factor, 300 s old", r.StatusCode, r.Body)
	}
	if m := a.mfaOf(); m.Serial != phone || *m.Age != 300 {
		t.Fatalf("the session after a second device: %+v", m)
	}

	// A device made while the factor was fresh is not enabled once it has gone stale.
	if r := a.Do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "laptop"}); r.StatusCode != http.StatusOK {
		t.Fatalf("a third device: %d %s", r.StatusCode, r.Body)
	} else {
		r.JSON(&cv)
	}
	e.Clock.Advance(11 * time.Minute)
	if r := a.Do("POST", "/.mfa/api/devices/"+cv.Serial+"/enable", housetest.Pair(e.Code(cv.Secret, -1), e.Code(cv.Secret, 0))); r.StatusCode != http.StatusUnauthorized || r.ErrorCode() != auth.CodeMFARequired {
		t.Fatalf("enabling with a 16-minute-old factor: %d %s", r.StatusCode, r.Body)
	}
}

func TestAFactorFromARemovedDeviceAddsNothing(t *testing.T) {
	e := newEnv(t)
	a := e.Client()
	a.Login("alice", testPassword)
	a.Enrol("phone")
	var cv web.VirtualDevice
	a.Do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "tablet"}).JSON(&cv)
	a.Do("POST", "/.mfa/api/devices/"+cv.Serial+"/enable", housetest.Pair(e.Code(cv.Secret, -1), e.Code(cv.Secret, 0)))
	e.Clock.Advance(time.Minute)
	b := e.Client()
	b.Login("alice", testPassword)
	var vr struct {
		CSRFToken string `json:"csrf_token"`
	}
	b.Do("POST", "/.mfa/api/verify", housetest.VerifyRequest{Serial: cv.Serial, Code: e.Code(cv.Secret, 0)}).JSON(&vr)
	b.CSRF = vr.CSRFToken
	if r := b.Do("POST", "/.mfa/api/devices/"+cv.Serial+"/deactivate", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("deactivate: %d %s", r.StatusCode, r.Body)
	}
	b.CSRF = e.Ops.Cookies.CSRFToken(sessionOf(t, b))
	if r := b.Do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "watch"}); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a device added on the factor of the device just removed: %d %s", r.StatusCode, r.Body)
	}
}

// sessionOf reads the client's session cookie as the gateway does.
func sessionOf(t *testing.T, c *client) *session.Claims {
	t.Helper()
	req := httptest.NewRequest("GET", c.e.Server.URL+"/", nil)
	for _, k := range c.HTTP.Jar.Cookies(housetest.MustURL(c.e.Server.URL)) {
		req.AddCookie(k)
	}
	claims, ok := c.e.Ops.Cookies.Read(req)
	if !ok {
		t.Fatal("no session cookie")
	}
	return &claims
}

func TestRacingEnrolmentsPassAtMostOneFactor(t *testing.T) {
	e := newEnv(t)
	a := e.Client()
	a.Login("alice", testPassword)
	var devices []web.VirtualDevice
	for _, name := range []string{"phone", "tablet", "laptop"} {
		var cv web.VirtualDevice
		a.Do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": name}).JSON(&cv)
		devices = append(devices, cv)
	}
	var mu sync.Mutex
	passed, enabled := 0, 0
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, cv := range devices {
		wg.Go(func() {
			<-start
			r, err := a.send("POST", "/.mfa/api/devices/"+cv.Serial+"/enable", housetest.Pair(e.Code(cv.Secret, -1), e.Code(cv.Secret, 0)))
			if err != nil {
				t.Error(err)
				return
			}
			var out struct {
				MFA housetest.MFAState `json:"mfa"`
			}
			_ = json.Unmarshal(r.Body, &out)
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
	a := e.Client()
	a.Login("alice", testPassword)
	a.Enrol("phone")
	var rc struct{ Codes []string }
	a.Do("POST", "/.mfa/api/recovery-codes", nil).JSON(&rc)

	// The phone is lost: a recovery code, then a replacement.
	lost := e.Client()
	lost.Login("alice", testPassword)
	var vr struct {
		CSRFToken string `json:"csrf_token"`
	}
	lost.Do("POST", "/.mfa/api/verify", housetest.VerifyRequest{Code: rc.Codes[0]}).JSON(&vr)
	lost.CSRF = vr.CSRFToken
	e.Clock.Advance(time.Minute)
	var cv web.VirtualDevice
	if r := lost.Do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "new-phone"}); r.StatusCode != http.StatusOK {
		t.Fatalf("a replacement in a recovery session: %d %s", r.StatusCode, r.Body)
	} else {
		r.JSON(&cv)
	}
	if r := lost.Do("POST", "/.mfa/api/devices/"+cv.Serial+"/enable", housetest.Pair(e.Code(cv.Secret, -1), e.Code(cv.Secret, 0))); r.StatusCode != http.StatusOK {
		t.Fatalf("enable the replacement: %d %s", r.StatusCode, r.Body)
	}
	if m := lost.mfaOf(); m.Method != "recovery" {
		t.Fatalf("after enrolling a replacement the method is %q, want recovery until the new device is used", m.Method)
	}
	e.Clock.Advance(30 * time.Second)
	lost.Do("POST", "/.mfa/api/verify", housetest.VerifyRequest{Serial: cv.Serial, Code: e.Code(cv.Secret, 0)}).JSON(&vr)
	lost.CSRF = vr.CSRFToken
	if m := lost.mfaOf(); m.Method != "virtual" || m.Serial != cv.Serial {
		t.Fatalf("after a factor with the new device: %+v", m)
	}

	// A recovery code used 16 minutes ago adds nothing.
	stale := e.Client()
	stale.Login("alice", testPassword)
	stale.Do("POST", "/.mfa/api/verify", housetest.VerifyRequest{Code: rc.Codes[1]}).JSON(&vr)
	stale.CSRF = vr.CSRFToken
	for range 2 {
		e.Clock.Advance(8 * time.Minute)
		stale.Do("GET", "/app", nil)
	}
	if r := stale.Do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "another"}); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a device on a 16-minute-old recovery code: %d %s", r.StatusCode, r.Body)
	}
}

func TestSecurityKeysFollowTheEnrolmentRules(t *testing.T) {
	e := newEnv(t, withWebAuthn)
	a := e.Client()
	a.Login("alice", testPassword)
	first := e.newSoftKey()
	r := a.registerKey(first, "yubikey")
	var out struct {
		Serial    string             `json:"serial"`
		MFA       housetest.MFAState `json:"mfa"`
		CSRFToken string             `json:"csrf_token"`
	}
	r.JSON(&out)
	if r.StatusCode != http.StatusOK || out.MFA.Method != "webauthn" || out.MFA.Serial != out.Serial {
		t.Fatalf("the first key passes a factor: %d %s", r.StatusCode, r.Body)
	}
	a.CSRF = out.CSRFToken
	firstSerial := out.Serial
	e.Clock.Advance(5 * time.Minute)
	r = a.registerKey(e.newSoftKey(), "backup")
	r.JSON(&out)
	if r.StatusCode != http.StatusOK || out.MFA.Serial != firstSerial || *out.MFA.Age != 300 {
		t.Fatalf("a second key leaves the session's factor as it was: %d %s", r.StatusCode, r.Body)
	}
	// A ceremony begun while the factor was fresh is not finished once it is stale.
	challenge, _ := ceremonyOf(t, a.Do("POST", "/.mfa/api/webauthn/register/begin", map[string]string{"name": "late"}))
	e.Clock.Advance(11 * time.Minute)
	if r := a.Do("POST", "/.mfa/api/webauthn/register/finish", json.RawMessage(e.newSoftKey().register(challenge))); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("finishing a registration with a stale factor: %d %s", r.StatusCode, r.Body)
	}
}

func TestAnAccessKeyAloneCannotEnrol(t *testing.T) {
	receiver := &smsReceiver{}
	e := newEnv(t, withEveryDevice(t, receiver))
	e.importToken("GAHT77777777")
	ctx := t.Context()
	// bob has no device; a thief holds the access key an operator once made him.
	nk, err := e.Ops.CreateAccessKeyFor(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	basic := housetest.BasicAuth(nk.Key.ID, nk.Secret)
	thief := e.Client()
	var tok housetest.SessionTokenResponse
	if r := thief.Do("POST", "/.mfa/api/session-token", nil, "Authorization", basic); r.StatusCode != http.StatusOK {
		t.Fatalf("a token without MFA: %d %s", r.StatusCode, r.Body)
	} else {
		r.JSON(&tok)
	}
	for cred, header := range map[string]string{"an access key": basic, "a session token": "Bearer " + tok.SessionToken} {
		for name, r := range thief.addAttempts("Authorization", header) {
			if r.StatusCode != http.StatusForbidden || r.ErrorCode() != auth.CodeAccessDenied {
				t.Errorf("%s with %s alone: %d %s", name, cred, r.StatusCode, r.Body)
			}
		}
	}
	if ds, _ := e.Ops.Devices.ForUser(ctx, "bob"); len(ds) != 0 {
		t.Fatalf("the access key enrolled %d devices for bob", len(ds))
	}
	if d, _ := e.Ops.Devices.Get(ctx, "GAHT77777777"); d.User != "" {
		t.Fatal("the access key took the hardware token")
	}
	if r := thief.Do("POST", "/.mfa/api/session-token", housetest.SessionTokenRequest{Serial: "GAHT77777777", Code: e.Code(tokenSecret, 0)}, "Authorization", basic); r.StatusCode != http.StatusForbidden {
		t.Fatalf("an MFA token for bob: %d %s", r.StatusCode, r.Body)
	}

	// After an operator's reset the key still works, and still enrols nothing.
	a := e.Client()
	a.Login("alice", testPassword)
	a.Enrol("phone")
	ak, _ := e.Ops.CreateAccessKeyFor(ctx, "alice")
	if code, _, _ := housetest.AdminCall(t, admin.New(e.Ops), "POST", "/mfa/users/alice/reset", nil); code != http.StatusOK {
		t.Fatalf("reset: %d", code)
	}
	if r := thief.Do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "x"}, "Authorization", housetest.BasicAuth(ak.Key.ID, ak.Secret)); r.StatusCode != http.StatusForbidden {
		t.Fatalf("enrolling a reset user with her access key: %d %s", r.StatusCode, r.Body)
	}
	// bob's own password sign-in enrols.
	b := e.Client()
	b.Login("bob", testPassword)
	if r := b.Do("POST", "/.mfa/api/devices/GAHT77777777/enable", housetest.Pair(e.Code(tokenSecret, -1), e.Code(tokenSecret, 0))); r.StatusCode != http.StatusOK {
		t.Fatalf("bob assigns the token himself: %d %s", r.StatusCode, r.Body)
	}
}

// TestEnrolmentIsNoFresherThanTheRoute: under a route max_age shorter than 15 minutes, a factor
// too old for the route is too old to add a device with, to mint recovery codes or access keys,
// or to remove a device, so none of them buys a factor the route would refuse.
func TestEnrolmentIsNoFresherThanTheRoute(t *testing.T) {
	e := newEnv(t, func(o *gate.Options, _ *auth.Config, _ *auth.Deps) {
		o.Policy, _ = policy.Compile(policy.Shortcuts{RequireMFA: true, MaxAge: time.Minute}.Document(true))
	})
	c := e.Client()
	c.Login("alice", testPassword)
	c.Enrol("phone")
	e.Clock.Advance(71 * time.Second)
	if r := c.Do("GET", "/app", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the route with a 71 s old factor: %d", r.StatusCode)
	}
	r := c.Do("POST", "/.mfa/api/devices/virtual", map[string]string{"name": "thief"})
	if r.StatusCode != http.StatusUnauthorized || r.ErrorCode() != auth.CodeMFARequired || !strings.Contains(string(r.Body), "60 seconds") {
		t.Fatalf("adding a device with a factor too old for the route: %d %s", r.StatusCode, r.Body)
	}
	// Nor recovery codes (which pass a fresh factor), access keys, or removing a device.
	for _, path := range []string{"/.mfa/api/recovery-codes", "/.mfa/api/access-keys", "/.mfa/api/devices/caddy-mfa:alice:phone/deactivate"} {
		if r := c.Do("POST", path, nil); r.StatusCode != http.StatusUnauthorized || r.ErrorCode() != auth.CodeMFARequired {
			t.Errorf("%s with a factor too old for the route: %d %s", path, r.StatusCode, r.Body)
		}
	}
}
