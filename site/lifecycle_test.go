package site_test

import (
	"encoding/csv"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/admin"
	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/internal/housetest"
)

func TestRecoveryCodesForALostDevice(t *testing.T) {
	e := newEnv(t)
	c := e.Client()
	c.Login("alice", testPassword)
	c.Enrol("phone")
	var rc struct{ Codes []string }
	if r := c.Do("POST", "/.mfa/api/recovery-codes", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("recovery codes: %d %s", r.StatusCode, r.Body)
	} else {
		r.JSON(&rc)
	}
	if len(rc.Codes) != 10 {
		t.Fatalf("%d codes", len(rc.Codes))
	}
	// The phone is lost: sign in, "lost your device?", a recovery code.
	lost := e.Client()
	lost.Login("alice", testPassword)
	r := lost.Do("POST", "/.mfa/api/verify", housetest.VerifyRequest{Code: rc.Codes[0]})
	var vr struct {
		MFA housetest.MFAState `json:"mfa"`
	}
	r.JSON(&vr)
	if r.StatusCode != http.StatusOK || vr.MFA.Method != "recovery" {
		t.Fatalf("recovery code: %d %s", r.StatusCode, r.Body)
	}
	var h map[string]string
	lost.Do("GET", "/app", nil).JSON(&h)
	if h["X-Mfa-Method"] != "recovery" {
		t.Fatalf("mfa:Method %q", h["X-Mfa-Method"])
	}
	again := e.Client()
	again.Login("alice", testPassword)
	if r := again.Do("POST", "/.mfa/api/verify", housetest.VerifyRequest{Code: rc.Codes[0]}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("a spent recovery code: %d", r.StatusCode)
	}
	if e.Events("recovery_code_used") != 1 {
		t.Fatal("recovery_code_used was not audited")
	}
	e.Clock.Advance(16 * time.Minute)
	if r := c.Do("POST", "/.mfa/api/recovery-codes", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("new codes with a 16-minute-old factor: %d", r.StatusCode)
	}
}

func TestSelfServiceResyncAndDeactivate(t *testing.T) {
	e := newEnv(t)
	c := e.Client()
	c.Login("alice", testPassword)
	serial, secret := c.Enrol("phone")
	other := e.Client()
	other.Login("alice", testPassword)

	// The app's clock jumps 4 minutes ahead: codes stop working, resync finds them again.
	e.Clock.Advance(time.Minute)
	if r := other.Do("POST", "/.mfa/api/verify", housetest.VerifyRequest{Code: e.Code(secret, 8)}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("a drifted code: %d", r.StatusCode)
	}
	r := other.Do("POST", "/.mfa/api/devices/"+serial+"/resync", housetest.Pair(e.Code(secret, 8), e.Code(secret, 9)))
	if r.StatusCode != http.StatusOK {
		t.Fatalf("resync: %d %s", r.StatusCode, r.Body)
	}
	e.Clock.Advance(30 * time.Second)
	if r := other.Do("POST", "/.mfa/api/verify", housetest.VerifyRequest{Code: e.Code(secret, 9)}); r.StatusCode != http.StatusOK {
		t.Fatalf("after resync: %d %s", r.StatusCode, r.Body)
	}
	if e.Events("device_resynced") != 1 {
		t.Fatal("resync was not audited")
	}

	// Deactivation needs a factor from the last hour, and signs every other session out.
	for range 3 { // an hour and more of use, within the idle timeout
		e.Clock.Advance(21 * time.Minute)
		c.Do("GET", "/app", nil)
	}
	if r := c.Do("POST", "/.mfa/api/devices/"+serial+"/deactivate", nil); r.StatusCode != http.StatusUnauthorized || r.ErrorCode() != auth.CodeMFARequired {
		t.Fatalf("deactivate with an old factor: %d %s", r.StatusCode, r.Body)
	}
	var vr struct {
		CSRFToken string `json:"csrf_token"`
	}
	c.Do("POST", "/.mfa/api/verify", housetest.VerifyRequest{Code: e.Code(secret, 9)}).JSON(&vr)
	c.CSRF = vr.CSRFToken
	r = c.Do("POST", "/.mfa/api/devices/"+serial+"/deactivate", nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("deactivate: %d %s", r.StatusCode, r.Body)
	}
	if r := other.Do("GET", "/app", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("another session after deactivation: %d", r.StatusCode)
	}
	if r := c.Do("GET", "/.mfa/api/devices", nil); r.StatusCode != http.StatusOK || strings.Contains(string(r.Body), serial) {
		t.Fatalf("this session after deactivation: %d %s", r.StatusCode, r.Body)
	}
	// The browser's session was signed again, and the answer carries its CSRF token: the next
	// state change needs no whoami first.
	r.JSON(&vr)
	if c.CSRF = vr.CSRFToken; c.CSRF == "" {
		t.Fatalf("deactivate answered no csrf_token: %s", r.Body)
	}
	if r := c.Do("POST", "/.mfa/api/logout", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("signing out with the token deactivate gave: %d %s", r.StatusCode, r.Body)
	}
}

// TestAdminHardwareTokensResetAndReport imports hardware tokens, has alice enable one herself and
// an operator run bob's through its life, then checks the report and the lost-device reset.
func TestAdminHardwareTokensResetAndReport(t *testing.T) {
	e := newEnv(t)
	a := admin.New(e.Ops)
	importTwoHardwareTokens(t, e, a)

	// alice enables the 8-digit, 60 s token herself, by serial.
	tok := factors.TOTP{Algorithm: "SHA256", Digits: 8, Period: 60}
	seed := []byte("12345678901234567890")
	code := func(offset int64) string { s, _ := tok.Code(seed, tok.Step(e.Clock.Now())+offset); return s }
	c := e.Client()
	c.Login("alice", testPassword)
	r := c.Do("POST", "/.mfa/api/devices/GAHT00000001/enable", housetest.Pair(code(-1), code(0)))
	if r.StatusCode != http.StatusOK {
		t.Fatalf("self-service hardware enable: %d %s", r.StatusCode, r.Body)
	}
	operatorRunsBobsToken(t, e, a, seed)

	// Report, then the lost-device reset.
	reportThenReset(t, e, a, c)
}

// importTwoHardwareTokens imports GAHT00000001 and GAHT00000002 through the admin API, checking
// that a file is refused as a whole (already there, a bad row, the wrong type) and that the
// list of unassigned tokens shows no secrets.
func importTwoHardwareTokens(t *testing.T, e *env, a *admin.Admin) {
	t.Helper()
	csvFile := "serial,secret,algorithm,digits,period\nGAHT00000001,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ,SHA256,8,60\nGAHT00000002,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ,SHA1,6,30\n"
	post := func(path, contentType, body string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		a.ServeHTTP(w, req)
		return w
	}
	if w := post("/mfa/devices/hardware", "text/csv", csvFile); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"imported":2`) {
		t.Fatalf("import: %d %s", w.Code, w.Body)
	}
	if w := post("/mfa/devices/hardware", "text/csv", csvFile); w.Code != http.StatusConflict {
		t.Fatalf("import again: %d %s", w.Code, w.Body)
	}
	if w := post("/mfa/devices/hardware", "text/csv", "serial,secret\nGAHT00000003,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\nbad,x\n"); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "row 3") {
		t.Fatalf("a bad row: %d %s", w.Code, w.Body)
	}
	if _, err := e.Ops.Devices.Get(t.Context(), "GAHT00000003"); err == nil {
		t.Fatal("a file with a bad row imported its good rows")
	}
	if w := post("/mfa/devices/hardware", "application/json", "{}"); w.Code != http.StatusBadRequest {
		t.Fatalf("wrong content type: %d", w.Code)
	}
	_, _, raw := housetest.AdminCall(t, a, "GET", "/mfa/devices?assignment=Unassigned", nil)
	if !strings.Contains(string(raw), "GAHT00000001") || strings.Contains(string(raw), "secret") {
		t.Fatalf("unassigned: %s", raw)
	}
}

// operatorRunsBobsToken has an operator enable GAHT00000002 (6 digits, 30 s, seeded with seed)
// for bob, resync, deactivate and delete it, and checks that an assigned token cannot be deleted.
func operatorRunsBobsToken(t *testing.T, e *env, a *admin.Admin, seed []byte) {
	t.Helper()
	// An operator enables the other for bob, then deletes nothing assigned.
	c6 := func(offset int64) string {
		s, _ := factors.VirtualTOTP.Code(seed, factors.VirtualTOTP.Step(e.Clock.Now())+offset)
		return s
	}
	if code, m, _ := housetest.AdminCall(t, a, "POST", "/mfa/users/bob/devices/GAHT00000002/enable", housetest.Pair(c6(-1), c6(0))); code != http.StatusOK || m["user"] != "bob" {
		t.Fatalf("admin enable: %d %v", code, m)
	}
	if code, m, _ := housetest.AdminCall(t, a, "DELETE", "/mfa/devices/GAHT00000002", nil); code != http.StatusConflict || housetest.ErrCode(m) != auth.CodeDeleteConflict {
		t.Fatalf("delete an assigned token: %d %v", code, m)
	}
	e.Clock.Advance(2 * time.Minute)
	if code, m, _ := housetest.AdminCall(t, a, "POST", "/mfa/users/bob/devices/GAHT00000002/resync", housetest.Pair(c6(0), c6(1))); code != http.StatusOK {
		t.Fatalf("admin resync: %d %v", code, m)
	}
	if code, _, _ := housetest.AdminCall(t, a, "POST", "/mfa/users/bob/devices/GAHT00000002/deactivate", nil); code != http.StatusOK {
		t.Fatalf("admin deactivate: %d", code)
	}
	if code, _, _ := housetest.AdminCall(t, a, "DELETE", "/mfa/devices/GAHT00000002", nil); code != http.StatusOK {
		t.Fatalf("delete an unassigned token: %d", code)
	}
}

// reportThenReset checks the users report (alice with her hardware token, bob with none), then
// resets alice, whose session c held, and checks she must enrol again and her token is free.
func reportThenReset(t *testing.T, e *env, a *admin.Admin, c *client) {
	t.Helper()
	w := httptest.NewRecorder()
	a.ServeHTTP(w, httptest.NewRequest("GET", "/mfa/report", nil))
	rows, err := csv.NewReader(w.Body).ReadAll()
	if err != nil || len(rows) != 3 || strings.Join(rows[0], ",") != "user,groups,created,password_enabled,mfa_active,devices,device_types,last_mfa_use,access_keys,locked_until" {
		t.Fatalf("report: %v %v", rows, err)
	}
	if rows[1][0] != "alice" || rows[1][4] != "TRUE" || rows[1][6] != "hardware" || rows[2][4] != "FALSE" || rows[2][9] != "N/A" {
		t.Fatalf("report rows: %v", rows[1:])
	}
	if code, _, _ := housetest.AdminCall(t, a, "POST", "/mfa/users/alice/reset", nil); code != http.StatusOK {
		t.Fatalf("reset: %d", code)
	}
	if r := c.Do("GET", "/app", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a session after reset: %d", r.StatusCode)
	}
	fresh := e.Client()
	var lr housetest.LoginResponse
	fresh.Login("alice", testPassword).JSON(&lr)
	if !lr.EnrollmentRequired {
		t.Fatalf("after reset alice must enrol again: %+v", lr)
	}
	if e.Events("user_reset") != 1 {
		t.Fatal("reset was not audited")
	}
	d, _ := e.Ops.Devices.Get(t.Context(), "GAHT00000001")
	if d.User != "" {
		t.Fatal("reset left the token assigned")
	}
}
