package factors

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"regexp"
	"testing"
	"time"
)

// phoneInbox is an SMSSender that keeps the last message.
type phoneInbox struct{ last string }

func (p *phoneInbox) Send(_ context.Context, _, message string) error {
	p.last = message
	return nil
}

var sentCode = regexp.MustCompile(`code: ([0-9]{6})\.`)

// TestSMSCodeHashesNeedTheServerKey is the attack on a copy of the store: a pending code's
// record, tried against all million 6-digit codes, must give nothing away without the key.
func TestSMSCodeHashesNeedTheServerKey(t *testing.T) {
	devices, c, st := newRegistry(t)
	inbox := &phoneInbox{}
	key := bytes.Repeat([]byte{7}, SMSKeySize)
	sms, err := NewSMS(devices, inbox, 5*time.Minute, "test", key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewSMS(devices, inbox, time.Minute, "test", key[:16]); err == nil {
		t.Fatal("a 16-byte key was taken")
	}
	dev, err := sms.Create(t.Context(), "alice", "mobile", "+15551234567")
	if err != nil {
		t.Fatal(err)
	}
	code := sentCode.FindStringSubmatch(inbox.last)[1]
	raw, err := st.Get(t.Context(), smsCodeKey(dev.Serial))
	if err != nil {
		t.Fatal(err)
	}
	var rec smsCode
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	// The attacker knows the record's layout from the source: serial, NUL, code.
	guess := []byte(dev.Serial + "\x00000000")
	digits := guess[len(guess)-6:]
	for n := range 1_000_000 {
		for i, v := 5, n; i >= 0; i, v = i-1, v/10 {
			digits[i] = byte('0' + v%10)
		}
		if h := sha256.Sum256(guess); bytes.Equal(h[:], rec.Hash) {
			t.Fatalf("the stored hash is a bare SHA-256: code %s found by brute force (sent %s)", digits, code)
		}
	}
	// Another server key does not accept the code; this one does, once.
	other, _ := NewSMS(devices, inbox, 5*time.Minute, "test", bytes.Repeat([]byte{8}, SMSKeySize))
	if _, err := other.Check(t.Context(), "alice", dev.Serial, code, true); err == nil {
		t.Fatal("a server with another key accepted the code")
	}
	c.advance(time.Second)
	if _, err := sms.Check(t.Context(), "alice", dev.Serial, code, true); err != nil {
		t.Fatalf("the right code: %v", err)
	}
	if _, err := sms.Check(t.Context(), "alice", dev.Serial, code, false); err == nil {
		t.Fatal("a spent code passed again")
	}
}
