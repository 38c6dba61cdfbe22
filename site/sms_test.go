package site_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/admin"
	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/gate"
	"github.com/caddy-mfa/caddy-mfa/internal/housetest"
)

// smsReceiver is the operator's webhook: it records every message it is asked to send.
type smsReceiver struct {
	mu       sync.Mutex
	messages []map[string]string
}

func (s *smsReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var m map[string]string
	_ = json.NewDecoder(r.Body).Decode(&m)
	s.mu.Lock()
	s.messages = append(s.messages, m)
	s.mu.Unlock()
}

var smsCode = regexp.MustCompile(`code: ([0-9]{6})\.`)

func (s *smsReceiver) lastCode(t *testing.T, to string) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.messages) == 0 || s.messages[len(s.messages)-1]["to"] != to {
		t.Fatalf("no message to %s: %v", to, s.messages)
	}
	m := smsCode.FindStringSubmatch(s.messages[len(s.messages)-1]["message"])
	if m == nil {
		t.Fatalf("no code in %q", s.messages[len(s.messages)-1]["message"])
	}
	return m[1]
}

// TestSMSFactor enrols an SMS device and signs in with it: the resend limit, one-time and expiring
// codes, phone number checks, and that admins are never offered SMS.
func TestSMSFactor(t *testing.T) {
	receiver := &smsReceiver{}
	hook := httptest.NewServer(receiver)
	defer hook.Close()
	e := newEnv(t, withSMS(hook.URL))
	const phone = "+15551234567"
	c := e.Client()
	c.Login("alice", testPassword)
	serial := enrolSMSDevice(t, c, receiver, phone)

	s := e.Client()
	s.Login("alice", testPassword)
	if r := s.Do("GET", "/.mfa/verify", nil); !strings.Contains(string(r.Body), "Text a code to mobile") || !strings.Contains(string(r.Body), "deprecated") {
		t.Fatalf("the verify page does not offer the SMS device:\n%s", r.Body)
	}
	if r := s.Do("POST", "/.mfa/api/sms/send", housetest.SMSSendRequest{Serial: serial}); r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "30" {
		t.Fatalf("a second code within 30 s: %d %s", r.StatusCode, r.Body)
	}
	e.Clock.Advance(31 * time.Second)
	if r := s.Do("POST", "/.mfa/api/sms/send", housetest.SMSSendRequest{Serial: serial}); r.StatusCode != http.StatusOK {
		t.Fatalf("send: %d %s", r.StatusCode, r.Body)
	}
	code := receiver.lastCode(t, phone)
	r := s.Do("POST", "/.mfa/api/verify", housetest.VerifyRequest{Serial: serial, Code: code})
	var vr struct {
		MFA       housetest.MFAState `json:"mfa"`
		CSRFToken string             `json:"csrf_token"`
	}
	r.JSON(&vr)
	s.CSRF = vr.CSRFToken
	if r.StatusCode != http.StatusOK || vr.MFA.Method != "sms" {
		t.Fatalf("verify: %d %s", r.StatusCode, r.Body)
	}
	if r := s.Do("POST", "/.mfa/api/verify", housetest.VerifyRequest{Serial: serial, Code: code}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("a used SMS code: %d", r.StatusCode)
	}
	e.Clock.Advance(time.Minute)
	s.Do("POST", "/.mfa/api/sms/send", housetest.SMSSendRequest{Serial: serial})
	late := receiver.lastCode(t, phone)
	e.Clock.Advance(6 * time.Minute)
	if r := s.Do("POST", "/.mfa/api/verify", housetest.VerifyRequest{Serial: serial, Code: late}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("an expired SMS code: %d", r.StatusCode)
	}
	if r := s.Do("POST", "/.mfa/api/devices/sms", housetest.SMSDeviceRequest{Name: "x", Phone: "5551234"}); r.StatusCode != http.StatusBadRequest || r.ErrorCode() != auth.CodeInvalidInput {
		t.Fatalf("a bad phone number: %d", r.StatusCode)
	}

	// Never for admins.
	smsIsNeverForAdmins(t, e, c, phone)
}

// enrolSMSDevice creates the SMS device "mobile" for phone and enables it with the texted code,
// after a wrong code is refused; it returns the device's serial.
func enrolSMSDevice(t *testing.T, c *client, receiver *smsReceiver, phone string) string {
	t.Helper()
	r := c.Do("POST", "/.mfa/api/devices/sms", housetest.SMSDeviceRequest{Name: "mobile", Phone: phone})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("create: %d %s", r.StatusCode, r.Body)
	}
	var created struct{ Serial string }
	r.JSON(&created)
	if r := c.Do("POST", "/.mfa/api/devices/"+created.Serial+"/enable", housetest.TwoCodes{Code1: "000000"}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("a wrong code: %d", r.StatusCode)
	}
	r = c.Do("POST", "/.mfa/api/devices/"+created.Serial+"/enable", housetest.TwoCodes{Code1: receiver.lastCode(t, phone)})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("enable: %d %s", r.StatusCode, r.Body)
	}
	return created.Serial
}

// smsIsNeverForAdmins makes the admin root and checks that SMS is refused to and not offered to
// root, while the devices page still offers it to c's user.
func smsIsNeverForAdmins(t *testing.T, e *env, c *client, phone string) {
	t.Helper()
	a := admin.New(e.Ops)
	housetest.AdminCall(t, a, "POST", "/mfa/users", map[string]any{"name": "root", "password": "root-password", "groups": []string{"admins"}})
	root := e.Client()
	root.Login("root", "root-password")
	if r := root.Do("POST", "/.mfa/api/devices/sms", housetest.SMSDeviceRequest{Name: "mobile", Phone: phone}); r.StatusCode != http.StatusForbidden || r.ErrorCode() != auth.CodeAccessDenied {
		t.Fatalf("SMS for an admin: %d %s", r.StatusCode, r.Body)
	}
	if r := root.Do("GET", "/.mfa/devices", nil); strings.Contains(string(r.Body), "Text message (SMS)") {
		t.Fatal("the devices page offers SMS to an admin")
	}
	if r := c.Do("GET", "/.mfa/devices", nil); !strings.Contains(string(r.Body), "Text message (SMS)") {
		t.Fatal("the devices page does not offer SMS")
	}
}

func TestSMSIsOffUnlessConfigured(t *testing.T) {
	e := newEnv(t)
	c := e.Client()
	c.Login("alice", testPassword)
	if r := c.Do("POST", "/.mfa/api/devices/sms", housetest.SMSDeviceRequest{Name: "mobile", Phone: "+15551234567"}); r.StatusCode != http.StatusNotFound {
		t.Fatalf("SMS without configuration: %d %s", r.StatusCode, r.Body)
	}
}

var testSMSKey = bytes.Repeat([]byte{5}, factors.SMSKeySize)

// withSMS turns the SMS factor on, sending its codes to the webhook at url.
func withSMS(url string) envOption {
	return func(_ *gate.Options, c *auth.Config, _ *auth.Deps) {
		c.SMS = &auth.SMSConfig{Sender: &factors.Webhook{URL: url}, CodeTTL: 5 * time.Minute, HashKey: testSMSKey}
	}
}
