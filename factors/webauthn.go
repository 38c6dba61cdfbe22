package factors

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// Errors of security key ceremonies.
var (
	ErrNoCeremony    = errors.New("no security key ceremony is waiting (it expired, finished, or never began)")
	ErrKeyRefused    = errors.New("the security key's answer does not verify")
	ErrClonedKey     = errors.New("the security key's signature counter went backwards: it may have been cloned")
	ErrNoSecurityKey = errors.New("the user has no security key")
	// ErrUserNotVerified is a passkey's answer given without a PIN or biometric check: a
	// passkey that stands for password and factor at once must verify its user.
	ErrUserNotVerified = errors.New("the passkey did not verify you (no PIN, fingerprint or face check): signing in with a passkey alone needs one")
)

// CeremonyTimeout is how long a begun registration or sign-in waits for the browser.
const CeremonyTimeout = 5 * time.Minute

// RelyingParty says who asks for a credential, for one ceremony: fixed by the operator, or
// derived from the site the request came to.
type RelyingParty struct {
	ID     string // the site's host name, e.g. example.com
	Origin string // e.g. https://app.example.com
}

// WebAuthn registers security keys and passkeys and signs in with them (go-webauthn). Ceremony
// state lives in the store, so a ceremony begun on one node can finish on another, and each is
// used once.
type WebAuthn struct {
	name             string
	devices          *Devices
	userVerification protocol.UserVerificationRequirement
	// instances holds one go-webauthn relying party per site and origin, which the library
	// wants fixed up front; bounded, since Host headers come from outside.
	instances *lru.Cache[RelyingParty, *webauthn.WebAuthn]
	rules     KeyRules
}

// NewWebAuthn makes the factor. name is the relying party's display name.
func NewWebAuthn(devices *Devices, name string, userVerification string) (*WebAuthn, error) {
	uv := protocol.UserVerificationRequirement(userVerification)
	switch uv {
	case protocol.VerificationRequired, protocol.VerificationPreferred, protocol.VerificationDiscouraged:
	default:
		return nil, fmt.Errorf("user_verification: want required, preferred or discouraged, got %q", userVerification)
	}
	instances, _ := lru.New[RelyingParty, *webauthn.WebAuthn](64)
	return &WebAuthn{name: name, devices: devices, userVerification: uv, instances: instances}, nil
}

func (w *WebAuthn) instance(rp RelyingParty) (*webauthn.WebAuthn, error) {
	if wa, ok := w.instances.Get(rp); ok {
		return wa, nil
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID: rp.ID, RPDisplayName: w.name, RPOrigins: []string{rp.Origin},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Enforce: true, Timeout: CeremonyTimeout, TimeoutUVD: CeremonyTimeout},
			Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: CeremonyTimeout, TimeoutUVD: CeremonyTimeout},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("webauthn relying party %s at %s: %w", rp.ID, rp.Origin, err)
	}
	w.instances.Add(rp, wa)
	return wa, nil
}

// KeyUser is what go-webauthn needs to know of a user.
type KeyUser struct {
	Name   string
	Handle []byte // random, never the name
	keys   []*Device
}

func (u *KeyUser) WebAuthnID() []byte          { return u.Handle }
func (u *KeyUser) WebAuthnName() string        { return u.Name }
func (u *KeyUser) WebAuthnDisplayName() string { return u.Name }
func (u *KeyUser) WebAuthnCredentials() []webauthn.Credential {
	out := make([]webauthn.Credential, 0, len(u.keys))
	for _, d := range u.keys {
		var c webauthn.Credential
		if json.Unmarshal(d.Credential, &c) == nil {
			out = append(out, c)
		}
	}
	return out
}

func (w *WebAuthn) keyUser(ctx context.Context, name string, handle []byte) (*KeyUser, error) {
	ds, err := w.devices.ForUser(ctx, name)
	if err != nil {
		return nil, err
	}
	u := &KeyUser{Name: name, Handle: handle}
	for _, d := range ds {
		if d.Type == TypeWebAuthn && d.Enabled {
			u.keys = append(u.keys, d)
		}
	}
	return u, nil
}

type ceremony struct {
	Session webauthn.SessionData `json:"session"`
	RP      RelyingParty         `json:"rp"`
	Name    string               `json:"name,omitempty"` // registration: the new key's name
	Expires time.Time            `json:"expires"`
}

func ceremonyKey(user, kind string) string { return store.Key("webauthn", kind, user) }

// KeySerial is the serial of a user's security key.
func KeySerial(user, name string) string { return "caddy-mfa-key:" + user + ":" + name }

// BeginRegistration starts registering a security key or passkey called name: the answer is the
// PublicKeyCredentialCreationOptions the browser needs ({"publicKey": ...}).
func (w *WebAuthn) BeginRegistration(ctx context.Context, user string, handle []byte, name string, rp RelyingParty) (*protocol.CredentialCreation, error) {
	if err := ValidateDeviceName(name); err != nil {
		return nil, err
	}
	serial := KeySerial(user, name)
	if err := w.devices.checkRoom(ctx, user, serial); err != nil {
		return nil, err
	}
	if d, err := w.devices.Get(ctx, serial); err == nil && d.Enabled {
		return nil, fmt.Errorf("%w: %s", ErrDeviceExists, serial)
	}
	u, err := w.keyUser(ctx, user, handle)
	if err != nil {
		return nil, err
	}
	wa, err := w.instance(rp)
	if err != nil {
		return nil, err
	}
	creation, session, err := wa.BeginRegistration(u,
		webauthn.WithExclusions(webauthn.Credentials(u.WebAuthnCredentials()).CredentialDescriptors()),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementPreferred, UserVerification: w.userVerification,
		}))
	if err != nil {
		return nil, fmt.Errorf("webauthn: %w", err)
	}
	rec := &ceremony{Session: *session, RP: rp, Name: name, Expires: w.devices.now().Add(CeremonyTimeout)}
	return creation, store.PutJSON(ctx, w.devices.store, ceremonyKey(user, "register"), rec)
}

// take removes and returns the user's waiting ceremony of kind: each ceremony is used once.
func (w *WebAuthn) take(ctx context.Context, user, kind string) (*ceremony, error) {
	return w.takeAt(ctx, ceremonyKey(user, kind))
}

// takeAt removes and returns the ceremony waiting at key, unless it has expired.
func (w *WebAuthn) takeAt(ctx context.Context, key string) (*ceremony, error) {
	var got *ceremony
	err := store.UpdateJSON(ctx, w.devices.store, key, func(c *ceremony) (*ceremony, error) {
		got = c
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	if got == nil || w.devices.now().After(got.Expires) {
		return nil, ErrNoCeremony
	}
	return got, nil
}

// FinishRegistration checks the browser's answer (the JSON of PublicKeyCredential.toJSON()) and
// keeps the new credential as an enabled webauthn device.
func (w *WebAuthn) FinishRegistration(ctx context.Context, user string, handle []byte, body []byte) (*Device, error) {
	cer, _, cred, err := finish(ctx, w, user, handle, "register", body, protocol.ParseCredentialCreationResponseBody,
		func(wa *webauthn.WebAuthn, u *KeyUser, s webauthn.SessionData, p *protocol.ParsedCredentialCreationData) (*webauthn.Credential, error) {
			return wa.CreateCredential(u, s, p)
		})
	if err != nil {
		return nil, err
	}
	facts := factsOf(cred, cred.Flags.UserVerified)
	if err := w.rules.check(facts); err != nil {
		return nil, err
	}
	raw, err := json.Marshal(cred)
	if err != nil {
		return nil, err
	}
	serial := KeySerial(user, cer.Name)
	now := w.devices.now().UTC()
	dev := &Device{Serial: serial, Type: TypeWebAuthn, Name: cer.Name, User: user, Enabled: true, Created: now,
		EnableDate: now, Credential: raw, Key: facts}
	return dev, w.devices.add(ctx, dev)
}

// BeginLogin starts a sign-in with one of the user's keys ({"publicKey": ...RequestOptions}).
func (w *WebAuthn) BeginLogin(ctx context.Context, user string, handle []byte, rp RelyingParty) (*protocol.CredentialAssertion, error) {
	u, err := w.keyUser(ctx, user, handle)
	if err != nil {
		return nil, err
	}
	if len(u.keys) == 0 {
		return nil, ErrNoSecurityKey
	}
	wa, err := w.instance(rp)
	if err != nil {
		return nil, err
	}
	assertion, session, err := wa.BeginLogin(u, webauthn.WithUserVerification(w.userVerification))
	if err != nil {
		return nil, fmt.Errorf("webauthn: %w", err)
	}
	rec := &ceremony{Session: *session, RP: rp, Expires: w.devices.now().Add(CeremonyTimeout)}
	return assertion, store.PutJSON(ctx, w.devices.store, ceremonyKey(user, "login"), rec)
}

// FinishLogin checks a key's assertion and records its new signature counter. A counter that
// went backwards (a cloned key) fails the sign-in and is reported as ErrClonedKey.
func (w *WebAuthn) FinishLogin(ctx context.Context, user string, handle []byte, body []byte) (*Device, error) {
	uv := false
	_, u, cred, err := finish(ctx, w, user, handle, "login", body, protocol.ParseCredentialRequestResponseBody,
		func(wa *webauthn.WebAuthn, u *KeyUser, s webauthn.SessionData, p *protocol.ParsedCredentialAssertionData) (*webauthn.Credential, error) {
			uv = p.Response.AuthenticatorData.Flags.HasUserVerified()
			return wa.ValidateLogin(u, s, p)
		})
	if err != nil {
		return nil, err
	}
	return w.recordUse(ctx, user, u, cred, uv)
}

// recordUse keeps the new signature counter of the key that signed in. A counter that went
// backwards (a cloned key) fails the sign-in, as ErrClonedKey.
func (w *WebAuthn) recordUse(ctx context.Context, user string, u *KeyUser, cred *webauthn.Credential, uv bool) (*Device, error) {
	var used *Device
	for _, d := range u.keys {
		var c webauthn.Credential
		if json.Unmarshal(d.Credential, &c) == nil && bytes.Equal(c.ID, cred.ID) {
			used = d
		}
	}
	if used == nil {
		return nil, ErrKeyRefused
	}
	if cred.Authenticator.CloneWarning {
		return nil, fmt.Errorf("%w (device %s)", ErrClonedKey, used.Serial)
	}
	raw, err := json.Marshal(cred)
	if err != nil {
		return nil, err
	}
	var out *Device
	err = store.UpdateJSON(ctx, w.devices.store, deviceKey(used.Serial), func(d *Device) (*Device, error) {
		if d == nil || d.User != user || !d.Enabled {
			return nil, ErrKeyRefused
		}
		d.Credential, d.LastUsed = raw, w.devices.now().UTC()
		out = d
		return d, nil
	})
	if out != nil {
		out.Key = factsOf(cred, uv)
	}
	return out, err
}

// finish is the common end of a ceremony: take its state (once), parse the browser's answer,
// rebuild the user and the relying party the ceremony began with, and let check verify it.
func finish[P any](ctx context.Context, w *WebAuthn, user string, handle []byte, kind string, body []byte,
	parse func(io.Reader) (P, error), check func(*webauthn.WebAuthn, *KeyUser, webauthn.SessionData, P) (*webauthn.Credential, error),
) (*ceremony, *KeyUser, *webauthn.Credential, error) {
	cer, err := w.take(ctx, user, kind)
	if err != nil {
		return nil, nil, nil, err
	}
	parsed, err := parse(bytes.NewReader(body))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %v", ErrKeyRefused, keyProblem(err))
	}
	u, err := w.keyUser(ctx, user, handle)
	if err != nil {
		return nil, nil, nil, err
	}
	wa, err := w.instance(cer.RP)
	if err != nil {
		return nil, nil, nil, err
	}
	cred, err := check(wa, u, cer.Session, parsed)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %v", ErrKeyRefused, keyProblem(err))
	}
	return cer, u, cred, nil
}

// keyProblem describes why go-webauthn refused an answer, with its developer detail when it has
// one (never key material: the library reports what check failed).
func keyProblem(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.DevInfo != "" {
		return pe.Details + ": " + pe.DevInfo
	}
	return err.Error()
}
