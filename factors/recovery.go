package factors

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"strings"
	"time"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// RecoveryCodeCount is how many recovery codes a user gets at a time.
const RecoveryCodeCount = 10

// RecoveryCodes are single-use codes for a user who lost their device: 80 random bits each,
// stored as salted SHA-256 hashes (the salt sealed), each spent on use.
type RecoveryCodes struct {
	store  store.Store
	sealer *store.Sealer
	now    func() time.Time
}

// NewRecoveryCodes makes the set.
func NewRecoveryCodes(st store.Store, sealer *store.Sealer, now func() time.Time) *RecoveryCodes {
	return &RecoveryCodes{store: st, sealer: sealer, now: now}
}

type recoveryRecord struct {
	SealedSalt []byte    `json:"sealed_salt"`
	Hashes     [][]byte  `json:"hashes"` // nil once spent
	Created    time.Time `json:"created"`
}

func recoveryKey(user string) string { return store.Key("recovery", user) }

// Generate issues RecoveryCodeCount new codes for user, voiding the old ones. They are returned
// this once, as XXXX-XXXX-XXXX-XXXX.
func (rc *RecoveryCodes) Generate(ctx context.Context, user string) ([]string, error) {
	codes, rec, err := rc.newSet(user)
	if err != nil {
		return nil, err
	}
	// Through Update, as every write of a sealed record: a reseal on another node must not put
	// the old codes back.
	return codes, store.UpdateJSON(ctx, rc.store, recoveryKey(user), func(*recoveryRecord) (*recoveryRecord, error) { return rec, nil })
}

// GenerateFirst issues codes as Generate does, but only to a user with no unspent code: in one
// atomic update, so two racing calls issue one set, and a user who has codes keeps them (nil,
// nil). It is what a first enrolment calls.
func (rc *RecoveryCodes) GenerateFirst(ctx context.Context, user string) ([]string, error) {
	var codes []string
	err := store.UpdateJSON(ctx, rc.store, recoveryKey(user), func(old *recoveryRecord) (*recoveryRecord, error) {
		codes = nil // the update may run again: only its last run counts
		if old != nil && old.unspent() > 0 {
			return old, nil
		}
		fresh, rec, err := rc.newSet(user)
		codes = fresh
		return rec, err
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// newSet draws RecoveryCodeCount codes and the record of their salted hashes.
func (rc *RecoveryCodes) newSet(user string) ([]string, *recoveryRecord, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return nil, nil, err
	}
	rec := recoveryRecord{SealedSalt: rc.sealer.Seal(salt, []byte(recoveryKey(user))), Created: rc.now().UTC()}
	codes := make([]string, RecoveryCodeCount)
	for i := range codes {
		raw := make([]byte, 10)
		if _, err := rand.Read(raw); err != nil {
			return nil, nil, err
		}
		c := b32.EncodeToString(raw) // 16 characters, 80 bits
		codes[i] = c[0:4] + "-" + c[4:8] + "-" + c[8:12] + "-" + c[12:16]
		rec.Hashes = append(rec.Hashes, hashRecovery(salt, c))
	}
	return codes, &rec, nil
}

func hashRecovery(salt []byte, normalized string) []byte {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(normalized))
	return h.Sum(nil)
}

// normalizeRecovery accepts codes as people type them: any case, with or without dashes and spaces.
func normalizeRecovery(code string) string {
	return strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(code))
}

// LooksLikeRecoveryCode tells a recovery code from a TOTP code (digits only).
func LooksLikeRecoveryCode(code string) bool { return len(normalizeRecovery(code)) == 16 }

// Use spends one of the user's codes. A wrong, spent or voided code is ErrInvalidCode.
func (rc *RecoveryCodes) Use(ctx context.Context, user, code string) error {
	norm := normalizeRecovery(code)
	return store.UpdateJSON(ctx, rc.store, recoveryKey(user), func(rec *recoveryRecord) (*recoveryRecord, error) {
		if rec == nil || len(norm) != 16 {
			return nil, ErrInvalidCode
		}
		salt, err := rc.sealer.Open(rec.SealedSalt, []byte(recoveryKey(user)))
		if err != nil {
			return nil, err
		}
		got := hashRecovery(salt, norm)
		hit := -1
		for i, h := range rec.Hashes { // every hash is compared, whichever matches
			if h != nil && subtle.ConstantTimeCompare(h, got) == 1 {
				hit = i
			}
		}
		if hit < 0 {
			return nil, ErrInvalidCode
		}
		rec.Hashes[hit] = nil
		return rec, nil
	})
}

// Remaining counts the user's unspent codes.
func (rc *RecoveryCodes) Remaining(ctx context.Context, user string) (int, error) {
	rec, err := store.GetJSON[recoveryRecord](ctx, rc.store, recoveryKey(user))
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return rec.unspent(), nil
}

func (rec *recoveryRecord) unspent() int {
	n := 0
	for _, h := range rec.Hashes {
		if h != nil {
			n++
		}
	}
	return n
}

// Void deletes the user's codes (a reset).
func (rc *RecoveryCodes) Void(ctx context.Context, user string) error {
	return store.RemoveRecord(ctx, rc.store, recoveryKey(user))
}
