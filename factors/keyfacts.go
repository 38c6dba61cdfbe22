package factors

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-webauthn/webauthn/webauthn"
)

// What a policy may ask of the authenticator behind a webauthn factor, and which ones an
// operator lets register.

// KeyFacts are what a ceremony showed of a security key or passkey.
type KeyFacts struct {
	UserVerified   bool   // this ceremony checked the user (PIN, biometric)
	BackupEligible bool   // the credential may be synced to other devices: a passkey, not a device-bound key
	AAGUID         string // the authenticator's model, as a UUID; "" when it did not say (all zeros)
}

// ErrKeyNotAllowed is a key of a kind the operator does not let register.
var ErrKeyNotAllowed = errors.New("this kind of security key is not allowed here")

// factsOf reads a credential's facts; uv is the ceremony's own user verification.
func factsOf(cred *webauthn.Credential, uv bool) KeyFacts {
	f := KeyFacts{UserVerified: uv, BackupEligible: cred.Flags.BackupEligible}
	if id := cred.Authenticator.AAGUID; len(id) == 16 && !bytes.Equal(id, make([]byte, 16)) {
		h := hex.EncodeToString(id)
		f.AAGUID = h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
	}
	return f
}

// KeyRules are the operator's limits on which keys register: the models allowed (none: any),
// and whether synced passkeys may.
type KeyRules struct {
	AllowedAAGUIDs     []string
	DenyBackupEligible bool
}

// check refuses a new key the rules do not allow, saying why.
func (r KeyRules) check(f KeyFacts) error {
	if r.DenyBackupEligible && f.BackupEligible {
		return fmt.Errorf("%w: it is a synced passkey, and this site takes only keys bound to one device", ErrKeyNotAllowed)
	}
	if len(r.AllowedAAGUIDs) > 0 && !slices.ContainsFunc(r.AllowedAAGUIDs, func(a string) bool { return strings.EqualFold(a, f.AAGUID) }) {
		model := f.AAGUID
		if model == "" {
			model = "a model it does not name"
		}
		return fmt.Errorf("%w: its model (%s) is not one this site allows", ErrKeyNotAllowed, model)
	}
	return nil
}

// Restrict sets the rules new keys must meet.
func (w *WebAuthn) Restrict(r KeyRules) { w.rules = r }
