package gateway

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

	"github.com/caddy-mfa/caddy-mfa/factors"
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

func TestSMSFactor(t *testing.T) {
	receiver := &smsReceiver{}
	hook := httptest.NewServer(receiver)
	defer hook.Close()
	e := newEnv(t, func(_ *Options, s *Services) {
		s.SMS, _ = factors.NewSMS(s.Devices, &factors.Webhook{URL: hook.URL}, 5*time.Minute, "test", testSMSKey)
	})
	const phone = "+15551234567"
	c := e.client()
	c.login("alice", testPassword)
	r := c.do("POST", "/.mfa/api/devices/sms", smsDeviceRequest{Name: "mobile", Phone: phone})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("create: %d %s", r.StatusCode, r.body)
	}
	var created struct{ Serial string }
	r.json(&created)
	if r := c.do("POST", "/.mfa/api/devices/"+created.Serial+"/enable", twoCodes{Code1: "000000"}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("a wrong code: %d", r.StatusCode)
	}
	r = c.do("POST", "/.mfa/api/devices/"+created.Serial+"/enable", twoCodes{Code1: receiver.lastCode(t, phone)})
	if r.StatusCode != http.StatusOK {
		t.Fatalf("enable: %d %s", r.StatusCode, r.body)
	}

	s := e.client()
	s.login("alice", testPassword)
	if r := s.do("GET", "/.mfa/verify", nil); !strings.Contains(string(r.body), "Text a code to mobile") || !strings.Contains(string(r.body), "deprecated") {
		t.Fatalf("the verify page does not offer the SMS device:\n%s", r.body)
	}
	if r := s.do("POST", "/.mfa/api/sms/send", smsSendRequest{Serial: created.Serial}); r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "30" {
		t.Fatalf("a second code within 30 s: %d %s", r.StatusCode, r.body)
	}
	e.clock.advance(31 * time.Second)
	if r := s.do("POST", "/.mfa/api/sms/send", smsSendRequest{Serial: created.Serial}); r.StatusCode != http.StatusOK {
		t.Fatalf("send: %d %s", r.StatusCode, r.body)
	}
	code := receiver.lastCode(t, phone)
	r = s.do("POST", "/.mfa/api/verify", verifyRequest{Serial: created.Serial, Code: code})
	var vr struct {
		MFA       mfaState `json:"mfa"`
		CSRFToken string   `json:"csrf_token"`
	}
	r.json(&vr)
	s.csrf = vr.CSRFToken
	if r.StatusCode != http.StatusOK || vr.MFA.Method != "sms" {
		t.Fatalf("verify: %d %s", r.StatusCode, r.body)
	}
	if r := s.do("POST", "/.mfa/api/verify", verifyRequest{Serial: created.Serial, Code: code}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("a used SMS code: %d", r.StatusCode)
	}
	e.clock.advance(time.Minute)
	s.do("POST", "/.mfa/api/sms/send", smsSendRequest{Serial: created.Serial})
	late := receiver.lastCode(t, phone)
	e.clock.advance(6 * time.Minute)
	if r := s.do("POST", "/.mfa/api/verify", verifyRequest{Serial: created.Serial, Code: late}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("an expired SMS code: %d", r.StatusCode)
	}
	if r := s.do("POST", "/.mfa/api/devices/sms", smsDeviceRequest{Name: "x", Phone: "5551234"}); r.StatusCode != http.StatusBadRequest || r.errorCode() != CodeInvalidInput {
		t.Fatalf("a bad phone number: %d", r.StatusCode)
	}

	// Never for admins.
	a := NewAdmin(e.svc)
	a.PasswordCost = 4
	adminCall(t, e, a, "POST", "/mfa/users", map[string]any{"name": "root", "password": "root-password", "groups": []string{"admins"}})
	root := e.client()
	root.login("root", "root-password")
	if r := root.do("POST", "/.mfa/api/devices/sms", smsDeviceRequest{Name: "mobile", Phone: phone}); r.StatusCode != http.StatusForbidden || r.errorCode() != CodeAccessDenied {
		t.Fatalf("SMS for an admin: %d %s", r.StatusCode, r.body)
	}
	if r := root.do("GET", "/.mfa/devices", nil); strings.Contains(string(r.body), "Text message (SMS)") {
		t.Fatal("the devices page offers SMS to an admin")
	}
	if r := c.do("GET", "/.mfa/devices", nil); !strings.Contains(string(r.body), "Text message (SMS)") {
		t.Fatal("the devices page does not offer SMS")
	}
}

func TestSMSIsOffUnlessConfigured(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.login("alice", testPassword)
	if r := c.do("POST", "/.mfa/api/devices/sms", smsDeviceRequest{Name: "mobile", Phone: "+15551234567"}); r.StatusCode != http.StatusNotFound {
		t.Fatalf("SMS without configuration: %d %s", r.StatusCode, r.body)
	}
}

var testSMSKey = bytes.Repeat([]byte{5}, factors.SMSKeySize)
