package factors

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/store"
)

// Device types: a device's type is the method it passes a factor with, so each is spelled
// once, in policy.
const (
	TypeVirtual  = policy.MethodVirtual
	TypeHardware = policy.MethodHardware
	TypeWebAuthn = policy.MethodWebAuthn
	TypeSMS      = policy.MethodSMS
)

// Errors, each of which the site API turns into one of IAM's error codes.
var (
	ErrNoSuchDevice   = errors.New("no such MFA device")                        // NoSuchEntity
	ErrDeviceExists   = errors.New("an MFA device with this serial exists")     // EntityAlreadyExists
	ErrDeviceLimit    = errors.New("the user has the most MFA devices allowed") // LimitExceeded
	ErrInvalidCode    = errors.New("invalid MFA one time pass code")            // InvalidAuthenticationCode
	ErrCodeReplayed   = errors.New("this MFA code was used already")            // InvalidAuthenticationCode
	ErrNotEnabled     = errors.New("the MFA device is not enabled")             // InvalidAuthenticationCode
	ErrAlreadyEnabled = errors.New("the MFA device is enabled already")         // EntityAlreadyExists
	ErrInvalidInput   = errors.New("invalid input")                             // InvalidInput
	ErrAssigned       = errors.New("the MFA device is assigned to a user")      // DeleteConflict
	ErrInUse          = errors.New("MFA device is already in use")              // EntityAlreadyExists to an operator, NoSuchEntity to a user
)

var (
	deviceNamePattern = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)
	serialPattern     = regexp.MustCompile(`^[\w+=/:,.@-]{9,256}$`)
)

// ValidateDeviceName checks a device name against IAM's rules.
func ValidateDeviceName(name string) error {
	if !deviceNamePattern.MatchString(name) {
		return fmt.Errorf("%w: device name must be 1-128 characters of letters, digits and +=,.@_-", ErrInvalidInput)
	}
	return nil
}

// ValidateSerial checks a serial number against IAM's rules.
func ValidateSerial(serial string) error {
	if !serialPattern.MatchString(serial) {
		return fmt.Errorf("%w: serial must be 9-256 characters of letters, digits and +=/:,.@_-", ErrInvalidInput)
	}
	return nil
}

// VirtualSerial is the serial of a user's virtual device: unique, and readable in every list.
func VirtualSerial(user, name string) string { return "caddy-mfa:" + user + ":" + name }

// Device is one MFA device. The seed is sealed: only this package opens it, to check a code.
type Device struct {
	Serial     string    `json:"serial"`
	Type       string    `json:"type"`
	Name       string    `json:"name"`
	User       string    `json:"user,omitempty"` // "" while unassigned
	Enabled    bool      `json:"enabled"`
	Created    time.Time `json:"created"`
	EnableDate time.Time `json:"enable_date,omitzero"`
	LastUsed   time.Time `json:"last_used,omitzero"`

	TOTP       TOTP   `json:"totp,omitzero"`
	SealedSeed []byte `json:"sealed_seed,omitempty"`
	Drift      int64  `json:"drift"`               // steps the device's clock runs ahead of ours (see follow)
	Lean       int64  `json:"lean,omitempty"`      // -1, 0 or 1: the side of Drift the last accepted code was on
	LeanStep   int64  `json:"lean_step,omitempty"` // our step when Lean was set
	LastStep   int64  `json:"last_step"`           // the last accepted step: it and every earlier one are spent

	Phone string `json:"phone,omitempty"` // sms devices: E.164

	Credential json.RawMessage `json:"credential,omitempty"` // webauthn devices: go-webauthn's Credential (public key, counter)

	// Key is what the ceremony that just used a webauthn device showed of its authenticator;
	// never stored.
	Key KeyFacts `json:"-"`

	// stored is the record's bytes as ForUser read them, which spares spending a step a read.
	stored []byte
}

// IsTOTP reports whether the device checks codes with TOTP.
func (d *Device) IsTOTP() bool { return d.Type == TypeVirtual || d.Type == TypeHardware }

// Settings are the operator's choices for devices.
type Settings struct {
	Issuer       string // otpauth issuer
	MaxDevices   int    // per user, every type together
	Skew         int    // steps accepted either side of the device's drift at sign-in
	ResyncWindow int    // steps searched either side by enable and resync
}

// Devices is the registry of MFA devices, kept in a store.
type Devices struct {
	store    store.Store
	sealer   *store.Sealer
	now      func() time.Time
	settings Settings
}

// NewDevices makes a registry.
func NewDevices(st store.Store, sealer *store.Sealer, now func() time.Time, s Settings) *Devices {
	return &Devices{store: st, sealer: sealer, now: now, settings: s}
}

// Records: the device is the truth; the per-user index is a hint that readers check against
// it, written before a device is assigned and removed after, so a crash between two writes
// leaves at most an index entry that points nowhere, never a device nobody can find.
func deviceKey(serial string) string          { return store.Key("devices", serial) }
func userIndexKey(user, serial string) string { return store.Key("userdevices", user, serial) }
func userIndexPrefix(user string) string      { return store.Key("userdevices", user) + "/" }
func sealAAD(serial string) []byte            { return []byte(deviceKey(serial)) }

// Get returns a device by serial.
func (r *Devices) Get(ctx context.Context, serial string) (*Device, error) {
	d, err := store.GetJSON[Device](ctx, r.store, deviceKey(serial))
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoSuchDevice
	}
	return d, err
}

// ForUser returns the user's devices, enabled or waiting to be enabled, oldest first. The
// index is only a hint, and each device record it names is checked: so its entries need not be
// checked themselves, and the devices are read in one batch (two round trips on Redis).
func (r *Devices) ForUser(ctx context.Context, user string) ([]*Device, error) {
	keys, err := store.ListUnchecked(ctx, r.store, userIndexPrefix(user))
	if err != nil || len(keys) == 0 {
		return nil, err
	}
	serials := make([]string, len(keys))
	records := make([]string, len(keys))
	for i, k := range keys {
		serials[i] = store.LastPart(k)
		records[i] = deviceKey(serials[i])
	}
	raws, err := store.GetMany(ctx, r.store, records)
	if err != nil {
		return nil, err
	}
	var out []*Device
	for i, raw := range raws {
		d := &Device{stored: raw}
		if raw == nil || json.Unmarshal(raw, d) != nil {
			continue // gone since it was indexed, or a crashed writer's: as if not there
		}
		if d.User == user && d.Serial == serials[i] {
			out = append(out, d)
		}
	}
	sortDevices(out)
	return out, nil
}

func sortDevices(ds []*Device) {
	slices.SortFunc(ds, func(a, b *Device) int { return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.Serial, b.Serial)) })
}

// HasEnabled reports whether the user has at least one enabled device.
func (r *Devices) HasEnabled(ctx context.Context, user string) (bool, error) {
	ds, err := r.ForUser(ctx, user)
	return slices.ContainsFunc(ds, func(d *Device) bool { return d.Enabled }), err
}

// NewVirtual is a virtual device just made: the seed is returned this once, for the QR code.
type NewVirtual struct {
	Device *Device
	Seed   []byte
}

// CreateVirtual makes a virtual device for user (CreateVirtualMFADevice). It stays disabled until
// Enable sees two consecutive codes. A not-yet-enabled device of the same name is replaced, so
// an abandoned enrolment never blocks the name.
func (r *Devices) CreateVirtual(ctx context.Context, user, name string) (*NewVirtual, error) {
	if err := ValidateDeviceName(name); err != nil {
		return nil, err
	}
	serial := VirtualSerial(user, name)
	if err := ValidateSerial(serial); err != nil {
		return nil, err
	}
	if err := r.checkRoom(ctx, user, serial); err != nil {
		return nil, err
	}
	seed := make([]byte, 20)
	if _, err := rand.Read(seed); err != nil {
		return nil, err
	}
	now := r.now().UTC()
	dev := &Device{
		Serial: serial, Type: TypeVirtual, Name: name, User: user, Created: now,
		TOTP: VirtualTOTP, SealedSeed: r.sealer.Seal(seed, sealAAD(serial)),
	}
	if err := r.add(ctx, dev); err != nil {
		return nil, err
	}
	return &NewVirtual{Device: dev, Seed: seed}, nil
}

// add writes a new device of dev.User: the index entry first, then the record, which may replace
// only a device of the same user that was never enabled (an abandoned enrolment).
func (r *Devices) add(ctx context.Context, dev *Device) error {
	if err := r.store.Put(ctx, userIndexKey(dev.User, dev.Serial), []byte{}); err != nil {
		return err
	}
	return store.UpdateJSON(ctx, r.store, deviceKey(dev.Serial), func(old *Device) (*Device, error) {
		if old != nil && (old.Enabled || old.User != dev.User) {
			return nil, fmt.Errorf("%w: %s", ErrDeviceExists, dev.Serial)
		}
		return dev, nil
	})
}

// checkRoom refuses a new device beyond MaxDevices; replacing serial does not count.
func (r *Devices) checkRoom(ctx context.Context, user, serial string) error {
	ds, err := r.ForUser(ctx, user)
	if err != nil {
		return err
	}
	n := 0
	for _, d := range ds {
		if d.Serial != serial {
			n++
		}
	}
	if n >= r.settings.MaxDevices {
		return fmt.Errorf("%w (%d)", ErrDeviceLimit, r.settings.MaxDevices)
	}
	return nil
}

// Enable turns a device on for user with two consecutive codes (EnableMFADevice): the user's own
// virtual device, or an unassigned hardware token, which it assigns. The offset at which the
// codes were found becomes the device's drift, and both codes are spent.
func (r *Devices) Enable(ctx context.Context, user, serial, code1, code2 string) (*Device, error) {
	d, err := r.Get(ctx, serial)
	if err != nil {
		return nil, err
	}
	if d.Type == TypeHardware && d.User == "" {
		if err := r.checkRoom(ctx, user, serial); err != nil {
			return nil, err
		}
		if err := r.store.Put(ctx, userIndexKey(user, serial), []byte{}); err != nil {
			return nil, err
		}
	}
	return r.consecutive(ctx, user, serial, code1, code2, func(d *Device) error {
		if d.Type == TypeHardware && d.User == "" {
			d.User = user // one token serves one user: the first to prove it holds it
		}
		if d.User != user {
			return ErrInUse
		}
		if d.Enabled {
			return fmt.Errorf("%w: %s", ErrAlreadyEnabled, serial)
		}
		d.Enabled, d.EnableDate = true, r.now().UTC()
		return nil
	})
}

// Resync finds an enabled device's clock again from two consecutive codes (ResyncMFADevice) and
// records the drift, so later sign-ins look at the device's time.
func (r *Devices) Resync(ctx context.Context, user, serial, code1, code2 string) (*Device, error) {
	return r.consecutive(ctx, user, serial, code1, code2, func(d *Device) error {
		if d.User != user {
			return ErrNoSuchDevice
		}
		if !d.Enabled {
			return fmt.Errorf("%w: %s", ErrNotEnabled, serial)
		}
		return nil
	})
}

// Deactivate takes a device from its user (DeactivateMFADevice). A virtual device is deleted
// with its seed, which nobody else may ever enrol; a hardware token goes back to the pool of
// unassigned tokens, with its spent time steps still spent.
func (r *Devices) Deactivate(ctx context.Context, user, serial string) (*Device, error) {
	var out *Device
	err := store.UpdateJSON(ctx, r.store, deviceKey(serial), func(d *Device) (*Device, error) {
		if d == nil || d.User != user {
			return nil, ErrNoSuchDevice
		}
		out = d
		if d.Type != TypeHardware {
			return nil, nil
		}
		cp := *d
		cp.User, cp.Enabled, cp.EnableDate, cp.Drift, cp.Lean, cp.LeanStep = "", false, time.Time{}, 0, 0, 0
		return &cp, nil
	})
	if err != nil {
		return nil, err
	}
	return out, r.store.Delete(ctx, userIndexKey(user, serial))
}

// Delete removes an unassigned device (DeleteVirtualMFADevice); an assigned one is a conflict.
func (r *Devices) Delete(ctx context.Context, serial string) error {
	return store.UpdateJSON(ctx, r.store, deviceKey(serial), func(d *Device) (*Device, error) {
		if d == nil {
			return nil, ErrNoSuchDevice
		}
		if d.User != "" {
			return nil, fmt.Errorf("%w (%s); deactivate it first", ErrAssigned, d.User)
		}
		return nil, nil
	})
}

// consecutive checks two consecutive codes against the device and applies change with them.
func (r *Devices) consecutive(ctx context.Context, user, serial, code1, code2 string, change func(*Device) error) (*Device, error) {
	if code1 == code2 {
		return nil, fmt.Errorf("%w: the two codes must be consecutive, not the same code twice", ErrInvalidCode)
	}
	var out *Device
	err := store.UpdateJSON(ctx, r.store, deviceKey(serial), func(d *Device) (*Device, error) {
		if d == nil || !d.IsTOTP() {
			return nil, ErrNoSuchDevice
		}
		if err := change(d); err != nil {
			return nil, err
		}
		seed, err := r.sealer.Open(d.SealedSeed, sealAAD(serial))
		if err != nil {
			return nil, fmt.Errorf("device %s: %w", serial, err)
		}
		defer clear(seed)
		now := d.TOTP.Step(r.now())
		offsets := d.TOTP.MatchConsecutive(seed, code1, code2, now, r.settings.ResyncWindow)
		if len(offsets) != 1 || now+offsets[0]+1 <= d.LastStep {
			// None, spent, or more than one offset: ambiguous pairs prove nothing.
			return nil, ErrInvalidCode
		}
		d.Drift, d.Lean, d.LeanStep = offsets[0]+1, 0, 0 // two codes in a row: the device's clock, found again
		d.LastStep = now + d.Drift
		d.LastUsed = r.now().UTC()
		out = d
		return d, nil
	})
	return out, err
}

// PendingSeed returns the seed of the user's device that is not enabled yet, so an enrolment
// page can show its QR code again after a mistyped pair. An enabled device's seed never leaves.
func (r *Devices) PendingSeed(ctx context.Context, user, serial string) (*Device, []byte, error) {
	d, err := r.Get(ctx, serial)
	if err != nil {
		return nil, nil, err
	}
	if d.User != user || d.Enabled || !d.IsTOTP() {
		return nil, nil, ErrNoSuchDevice
	}
	seed, err := r.sealer.Open(d.SealedSeed, sealAAD(serial))
	if err != nil {
		return nil, nil, fmt.Errorf("device %s: %w", serial, err)
	}
	return d, seed, nil
}

// Remove deletes a device: the record first, so it stops working at once, then its index entry.
func (r *Devices) Remove(ctx context.Context, d *Device) error {
	// Through Update, so that a reseal running on another node cannot bring the device back.
	if err := store.RemoveRecord(ctx, r.store, deviceKey(d.Serial)); err != nil {
		return err
	}
	if d.User == "" {
		return nil
	}
	return r.store.Delete(ctx, userIndexKey(d.User, d.Serial))
}

// SealedRecords are the records of this package that hold sealed secrets (TOTP seeds and the
// recovery codes' salt), for store.Reseal.
var SealedRecords = []store.SealedField{{Prefix: "devices/", Field: "sealed_seed"}, {Prefix: "recovery/", Field: "sealed_salt"}}
