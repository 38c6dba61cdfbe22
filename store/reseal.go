package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// SealedField names a family of records that hold a sealed value: every record under Prefix is
// a JSON object whose top-level Field is a value Sealer made (base64, as encoding/json writes
// []byte), sealed with the record's own key as additional data. The packages that seal declare
// theirs, so Reseal needs to know nothing else about their records.
type SealedField struct {
	Prefix, Field string
}

// ResealReport counts what Reseal did.
type ResealReport struct {
	Resealed   int      // moved to the first key
	Current    int      // under the first key already: left alone
	Unopened   []string // records that open with no key given: left alone
	Unreadable int      // records that are not JSON (a crashed writer's leftovers): left alone
	KeyCheck   bool     // the key check now names the first key: the store is resealed whole
}

// Reseal seals every sealed value under the sealer's first key, one compare-and-swap (Update) a
// record, so it can run while nodes serve and write: a record another node changed meanwhile is
// read again, never overwritten with its old value. It is idempotent, so a run that stopped
// half-way is finished by running it again, and records under the first key cost one read. The
// key check goes last, and only when every record opened: a store whose check opens with the
// first key alone has been resealed whole, so the old key can go.
func Reseal(ctx context.Context, st Store, sealer *Sealer, families []SealedField) (ResealReport, error) {
	var r ResealReport
	for _, f := range families {
		keys, err := st.List(ctx, f.Prefix)
		if err != nil {
			return r, fmt.Errorf("listing %s: %w", f.Prefix, err)
		}
		for _, key := range keys {
			if err := ctx.Err(); err != nil {
				return r, err
			}
			out, err := resealRecord(ctx, st, sealer, key, f.Field)
			if err != nil {
				return r, fmt.Errorf("resealing %s: %w", key, err)
			}
			r.count(key, out)
		}
	}
	if len(r.Unopened) > 0 {
		return r, nil
	}
	err := st.Update(ctx, keyCheckRecord, func(old []byte) ([]byte, error) {
		next, _, err := resealValue(sealer, old, []byte(keyCheckRecord))
		return next, err
	})
	if err != nil && !errors.Is(err, ErrWrongKey) {
		return r, fmt.Errorf("resealing the key check: %w", err)
	}
	r.KeyCheck = err == nil
	return r, nil
}

type resealOutcome int

const (
	noSecret resealOutcome = iota
	resealed
	current
	unopened
	unreadable
)

func (r *ResealReport) count(key string, out resealOutcome) {
	switch out {
	case resealed:
		r.Resealed++
	case current:
		r.Current++
	case unopened:
		r.Unopened = append(r.Unopened, key)
	case unreadable:
		r.Unreadable++
	}
}

// resealRecord reseals one record's field. Update may call the function more than once; the
// outcome is the last call's.
func resealRecord(ctx context.Context, st Store, sealer *Sealer, key, field string) (resealOutcome, error) {
	var out resealOutcome
	err := st.Update(ctx, key, func(old []byte) ([]byte, error) {
		out = noSecret
		if old == nil { // deleted since the listing
			return nil, nil
		}
		var rec map[string]json.RawMessage
		if json.Unmarshal(old, &rec) != nil {
			out = unreadable
			return old, nil
		}
		var sealed []byte
		if raw, ok := rec[field]; !ok || json.Unmarshal(raw, &sealed) != nil || len(sealed) == 0 {
			return old, nil
		}
		next, changed, err := resealValue(sealer, sealed, []byte(key))
		switch {
		case err != nil:
			out = unopened
			return old, nil
		case !changed:
			out = current
			return old, nil
		}
		out = resealed
		rec[field], _ = json.Marshal(next) // a []byte always marshals
		return json.Marshal(rec)
	})
	return out, err
}

// resealValue returns sealed itself (changed false) when the first key sealed it, else the
// value sealed anew under the first key; nil stays nil.
func resealValue(sealer *Sealer, sealed, additional []byte) (next []byte, changed bool, err error) {
	if sealed == nil || sealer.SealedWithFirst(sealed) {
		return sealed, false, nil
	}
	plain, err := sealer.Open(sealed, additional)
	if err != nil {
		return nil, false, err
	}
	defer clear(plain)
	return sealer.Seal(plain, additional), true, nil
}
