package admin_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/admin"
	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/internal/housetest"
	"github.com/caddy-mfa/caddy-mfa/web"
)

const poolSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

// TestAdminEnableAnswersAsAWS: EnableMFADevice through the admin API answers as AWS does for
// each kind of serial; a device another user holds is 409 EntityAlreadyExists, whatever the
// codes, and is no failed attempt of anyone's.
func TestAdminEnableAnswersAsAWS(t *testing.T) {
	e := newEnv(t)
	a := admin.New(e.Ops)
	alicePhone := createVirtual(t, a, "alice", "phone")
	bobPhone := createVirtual(t, a, "bob", "phone")
	if w := adminSendRaw(a, "/mfa/devices/hardware", "text/csv", strings.NewReader("serial,secret\nPOOLTOKEN1,"+poolSecret+"\n")); w.Code != http.StatusOK {
		t.Fatalf("import: %d %s", w.Code, w.Body)
	}
	for _, c := range []struct {
		name, user, serial string
		secret             string // the codes are this device's at the time of the try; none: wrong ones
		status             int
		code, message      string
	}{
		{"own device", "alice", alicePhone.Serial, alicePhone.Secret, http.StatusOK, "", ""},
		{"own device again", "alice", alicePhone.Serial, alicePhone.Secret, http.StatusConflict, auth.CodeEntityAlreadyExists, "enabled already"},
		{"another's enabled device", "bob", alicePhone.Serial, alicePhone.Secret, http.StatusConflict, auth.CodeEntityAlreadyExists, "MFA device is already in use."},
		{"another's device, wrong codes", "bob", alicePhone.Serial, "", http.StatusConflict, auth.CodeEntityAlreadyExists, "MFA device is already in use."},
		{"another's pending device", "alice", bobPhone.Serial, bobPhone.Secret, http.StatusConflict, auth.CodeEntityAlreadyExists, "MFA device is already in use."},
		{"unknown serial", "alice", "NOSUCHTOKEN", alicePhone.Secret, http.StatusNotFound, auth.CodeNoSuchEntity, ""},
		{"unknown user", "nobody", alicePhone.Serial, alicePhone.Secret, http.StatusNotFound, auth.CodeNoSuchEntity, ""},
		{"hardware pool, wrong codes", "bob", "POOLTOKEN1", "", http.StatusForbidden, auth.CodeInvalidAuthCode, auth.MsgBadDeviceCode},
		{"hardware pool", "bob", "POOLTOKEN1", poolSecret, http.StatusOK, "", ""},
		{"hardware another holds", "alice", "POOLTOKEN1", poolSecret, http.StatusConflict, auth.CodeEntityAlreadyExists, "MFA device is already in use."},
	} {
		e.Clock.Advance(90 * time.Second) // a fresh pair of steps for each try
		codes := housetest.Pair("000000", "111111")
		if c.secret != "" {
			codes = housetest.Pair(e.Code(c.secret, -1), e.Code(c.secret, 0))
		}
		code, m, raw := housetest.AdminCall(t, a, "POST", "/mfa/users/"+c.user+"/devices/"+c.serial+"/enable", codes)
		if code != c.status || housetest.ErrCode(m) != c.code || !strings.Contains(string(raw), c.message) {
			t.Errorf("%s: %d %s; want %d %s %q", c.name, code, raw, c.status, c.code, c.message)
		}
	}
	if d, _ := e.Ops.Devices.Get(t.Context(), alicePhone.Serial); d.User != "alice" || !d.Enabled {
		t.Fatalf("alice's device after bob's tries: %+v", d)
	}
	if d, _ := e.Ops.Devices.Get(t.Context(), "POOLTOKEN1"); d.User != "bob" {
		t.Fatalf("the pool token after alice's try: user %q", d.User)
	}
}

// TestUserEnableOfAnothersDeviceIsNotFound: a user, unlike an operator, learns nothing of
// another user's serials: the self-service API answers 404 as for a serial that does not exist.
func TestUserEnableOfAnothersDeviceIsNotFound(t *testing.T) {
	e := newEnv(t)
	alicePhone := createVirtual(t, admin.New(e.Ops), "alice", "phone")
	c := e.Client()
	c.Login("bob", testPassword)
	r := c.Do("POST", "/.mfa/api/devices/"+alicePhone.Serial+"/enable", housetest.Pair(e.Code(alicePhone.Secret, -1), e.Code(alicePhone.Secret, 0)))
	if r.StatusCode != http.StatusNotFound || r.ErrorCode() != auth.CodeNoSuchEntity || strings.Contains(string(r.Body), "in use") {
		t.Fatalf("bob enabling alice's serial: %d %s", r.StatusCode, r.Body)
	}
}

func createVirtual(t *testing.T, a *admin.Admin, user, name string) web.VirtualDevice {
	t.Helper()
	code, m, raw := housetest.AdminCall(t, a, "POST", "/mfa/users/"+user+"/devices/virtual", map[string]string{"name": name})
	if code != http.StatusOK {
		t.Fatalf("create %s's %s: %d %v", user, name, code, m)
	}
	var dev web.VirtualDevice
	if err := json.Unmarshal(raw, &dev); err != nil {
		t.Fatal(err)
	}
	return dev
}
