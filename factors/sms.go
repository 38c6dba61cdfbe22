package factors

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// ErrSMSTooSoon means a code was sent to this device moments ago.
var ErrSMSTooSoon = errors.New("a code was sent moments ago; wait before asking for another")

// SMSResendAfter is how long a device waits between codes: no phone is flooded through us.
const SMSResendAfter = 30 * time.Second

var phonePattern = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// ValidatePhone checks an E.164 number (+ and up to 15 digits).
func ValidatePhone(phone string) error {
	if !phonePattern.MatchString(phone) {
		return fmt.Errorf("%w: phone must be an international number such as +15551234567", ErrInvalidInput)
	}
	return nil
}

// SMSSender delivers a text message.
type SMSSender interface {
	Send(ctx context.Context, phone, message string) error
}

// Webhook posts each message as JSON {"to", "message"} to an operator's URL, which relays it to
// an SMS provider.
type Webhook struct {
	URL    string
	Client *http.Client
}

// Send implements SMSSender.
func (w *Webhook) Send(ctx context.Context, phone, message string) error {
	body, _ := json.Marshal(map[string]string{"to": phone, "message": message})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("sms webhook: %w", err) // the URL is the operator's; the message is not logged
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("sms webhook: answered %s", resp.Status)
	}
	return nil
}

// SMS sends and checks one-time codes for sms devices: 6 digits, single use, valid for a TTL.
type SMS struct {
	devices *Devices
	sender  SMSSender
	ttl     time.Duration
	issuer  string
	key     []byte // keys the stored hashes of sent codes
}

// SMSKeySize is the length of the key that hashes sent codes.
const SMSKeySize = 32

// NewSMS makes the SMS factor. key (SMSKeySize bytes, secret, the same on every node) keys the
// hash of each sent code: a bare hash of a 6-digit code falls to a million guesses, so a copy of
// the store would give away every pending code.
func NewSMS(devices *Devices, sender SMSSender, ttl time.Duration, issuer string, key []byte) (*SMS, error) {
	if len(key) != SMSKeySize {
		return nil, fmt.Errorf("sms key: want %d bytes, got %d", SMSKeySize, len(key))
	}
	return &SMS{devices: devices, sender: sender, ttl: ttl, issuer: issuer, key: bytes.Clone(key)}, nil
}

type smsCode struct {
	Hash    []byte    `json:"hash"`
	Expires time.Time `json:"expires"`
	Sent    time.Time `json:"sent"`
}

func smsCodeKey(serial string) string { return store.Key("smscodes", serial) }

// SMSSerial is the serial of a user's SMS device.
func SMSSerial(user, name string) string { return "caddy-mfa-sms:" + user + ":" + name }

// Create makes an SMS device for user (not enabled until a sent code comes back) and sends the
// first code.
func (s *SMS) Create(ctx context.Context, user, name, phone string) (*Device, error) {
	if err := ValidateDeviceName(name); err != nil {
		return nil, err
	}
	if err := ValidatePhone(phone); err != nil {
		return nil, err
	}
	serial := SMSSerial(user, name)
	if err := s.devices.checkRoom(ctx, user, serial); err != nil {
		return nil, err
	}
	dev := &Device{Serial: serial, Type: TypeSMS, Name: name, User: user, Created: s.devices.now().UTC(), Phone: phone}
	if err := s.devices.add(ctx, dev); err != nil {
		return nil, err
	}
	return dev, s.Send(ctx, user, serial)
}

// Send texts a new code to the user's SMS device, replacing any earlier one.
func (s *SMS) Send(ctx context.Context, user, serial string) error {
	dev, err := s.devices.Get(ctx, serial)
	if err != nil || dev.User != user || dev.Type != TypeSMS {
		return ErrNoSuchDevice
	}
	var n [4]byte
	if _, err := rand.Read(n[:]); err != nil {
		return err
	}
	code := fmt.Sprintf("%06d", binary.BigEndian.Uint32(n[:])%1_000_000)
	now := s.devices.now()
	err = store.UpdateJSON(ctx, s.devices.store, smsCodeKey(serial), func(old *smsCode) (*smsCode, error) {
		if old != nil && now.Sub(old.Sent) < SMSResendAfter {
			return nil, ErrSMSTooSoon
		}
		return &smsCode{Hash: s.hash(serial, code), Expires: now.Add(s.ttl), Sent: now}, nil
	})
	if err != nil {
		return err
	}
	return s.sender.Send(ctx, dev.Phone, fmt.Sprintf("%s code: %s. It expires in %d minutes. Never share it.", s.issuer, code, int(s.ttl/time.Minute)))
}

// hash is HMAC-SHA256 under the server's key of the device's serial and the code.
func (s *SMS) hash(serial, code string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(serial + "\x00" + code))
	return m.Sum(nil)
}

// Check spends the device's code if code matches and has not expired; the device must be the
// user's, and enabled unless enabling.
func (s *SMS) Check(ctx context.Context, user, serial, code string, enabling bool) (*Device, error) {
	dev, err := s.devices.Get(ctx, serial)
	if err != nil || dev.User != user || dev.Type != TypeSMS || dev.Enabled == enabling {
		return nil, ErrInvalidCode
	}
	now := s.devices.now()
	err = store.UpdateJSON(ctx, s.devices.store, smsCodeKey(serial), func(rec *smsCode) (*smsCode, error) {
		if rec == nil || rec.Hash == nil || now.After(rec.Expires) || !hmac.Equal(rec.Hash, s.hash(serial, code)) {
			return nil, ErrInvalidCode
		}
		return &smsCode{Sent: rec.Sent}, nil // single use; the send time still paces resends
	})
	if err != nil {
		return nil, err
	}
	var out *Device
	err = store.UpdateJSON(ctx, s.devices.store, deviceKey(serial), func(d *Device) (*Device, error) {
		if d == nil {
			return nil, ErrNoSuchDevice
		}
		if enabling {
			d.Enabled, d.EnableDate = true, now.UTC()
		}
		d.LastUsed = now.UTC()
		out = d
		return d, nil
	})
	return out, err
}
