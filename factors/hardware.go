package factors

import (
	"context"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// HardwareSeed is one hardware token read from a vendor's seed file.
type HardwareSeed struct {
	Serial string
	Name   string
	Seed   []byte
	TOTP   TOTP
}

// ImportError names the row or key package that made a seed file unusable.
type ImportError struct {
	Where string // "row 3", "KeyPackage 2 (serial GAHT123)"
	Err   error
}

func (e *ImportError) Error() string { return e.Where + ": " + e.Err.Error() }
func (e *ImportError) Unwrap() error { return e.Err }

// maxImport bounds a seed file: 10,000 tokens is a large order.
const maxImport = 10000

// ParseSeedsCSV reads a CSV file with a header row and the columns serial, secret (Base32) or
// secret_hex, and optional algorithm, digits, period and name. One bad row refuses the file.
func ParseSeedsCSV(r io.Reader) ([]HardwareSeed, error) {
	cr := csv.NewReader(r)
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		return nil, &ImportError{Where: "header", Err: fmt.Errorf("%w: not a CSV file with a header row", ErrInvalidInput)}
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	if _, ok := col["serial"]; !ok {
		return nil, &ImportError{Where: "header", Err: fmt.Errorf("%w: no serial column", ErrInvalidInput)}
	}
	_, b32 := col["secret"]
	_, hx := col["secret_hex"]
	if b32 == hx {
		return nil, &ImportError{Where: "header", Err: fmt.Errorf("%w: want one of the columns secret (Base32) and secret_hex", ErrInvalidInput)}
	}
	var out seedList
	for row := 2; ; row++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		where := "row " + strconv.Itoa(row)
		if err != nil {
			return nil, &ImportError{Where: where, Err: fmt.Errorf("%w: %v", ErrInvalidInput, err)}
		}
		if len(out.seeds) >= maxImport {
			return nil, &ImportError{Where: where, Err: fmt.Errorf("%w: more than %d tokens in one file", ErrInvalidInput, maxImport)}
		}
		field := func(name, def string) string {
			if i, ok := col[name]; ok && i < len(rec) && strings.TrimSpace(rec[i]) != "" {
				return strings.TrimSpace(rec[i])
			}
			return def
		}
		if err := out.add(where)(seedFromFields(field("serial", ""), field("name", ""), field("secret", ""), field("secret_hex", ""),
			field("algorithm", "SHA1"), field("digits", "6"), field("period", "30"))); err != nil {
			return nil, err
		}
	}
	if len(out.seeds) == 0 {
		return nil, &ImportError{Where: "file", Err: fmt.Errorf("%w: no tokens", ErrInvalidInput)}
	}
	return out.seeds, nil
}

// seedList collects the seeds of one file, refusing a serial the file already named.
type seedList struct {
	seeds []HardwareSeed
	seen  map[string]bool
}

// add takes the outcome of reading one row or key package; where names it in errors.
func (l *seedList) add(where string) func(HardwareSeed, error) error {
	return func(s HardwareSeed, err error) error {
		if err == nil && l.seen[s.Serial] {
			err = fmt.Errorf("%w: serial %s appears twice", ErrInvalidInput, s.Serial)
		}
		if err != nil {
			return &ImportError{Where: where, Err: err}
		}
		if l.seen == nil {
			l.seen = map[string]bool{}
		}
		l.seen[s.Serial] = true
		l.seeds = append(l.seeds, s)
		return nil
	}
}

func seedFromFields(serial, name, secretB32, secretHex, alg, digits, period string) (HardwareSeed, error) {
	s := HardwareSeed{Serial: serial, Name: name}
	if err := ValidateSerial(serial); err != nil {
		return s, err
	}
	if s.Name == "" {
		s.Name = serial
	}
	if err := ValidateDeviceName(s.Name); err != nil {
		return s, err
	}
	var err error
	if secretHex != "" {
		if s.Seed, err = hex.DecodeString(secretHex); err != nil {
			return s, fmt.Errorf("%w: secret_hex is not hexadecimal", ErrInvalidInput)
		}
	} else if s.Seed, err = DecodeSecret(secretB32); err != nil {
		return s, err
	}
	if len(s.Seed) < 16 {
		return s, fmt.Errorf("%w: the secret is %d bytes; RFC 4226 wants at least 16 (128 bits)", ErrInvalidInput, len(s.Seed))
	}
	d, errD := strconv.Atoi(digits)
	p, errP := strconv.Atoi(period)
	if errD != nil || errP != nil {
		return s, fmt.Errorf("%w: digits and period must be whole numbers", ErrInvalidInput)
	}
	s.TOTP = TOTP{Algorithm: strings.ToUpper(strings.TrimPrefix(strings.ToUpper(alg), "HMAC-")), Digits: d, Period: p}
	if err := s.TOTP.Validate(); err != nil {
		return s, fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	return s, nil
}

// ImportHardware adds hardware tokens as unassigned devices, all or none: a serial that exists
// refuses the batch, and a failure half way removes what was written. A crash half way is undone
// at the next start by RollBackImports, from the batch record written before the first device.
func (r *Devices) ImportHardware(ctx context.Context, seeds []HardwareSeed) ([]string, error) {
	for _, s := range seeds {
		if _, err := r.Get(ctx, s.Serial); err == nil {
			return nil, fmt.Errorf("%w: %s", ErrDeviceExists, s.Serial)
		} else if !errors.Is(err, ErrNoSuchDevice) {
			return nil, err
		}
	}
	serials := make([]string, len(seeds))
	for i, s := range seeds {
		serials[i] = s.Serial
	}
	batch := store.Key("imports", fmt.Sprintf("%d", r.now().UnixNano()))
	if err := store.PutJSON(ctx, r.store, batch, serials); err != nil {
		return nil, err
	}
	now := r.now().UTC()
	for i, s := range seeds {
		dev := &Device{Serial: s.Serial, Type: TypeHardware, Name: s.Name, Created: now, TOTP: s.TOTP,
			SealedSeed: r.sealer.Seal(s.Seed, sealAAD(s.Serial))}
		err := store.UpdateJSON(ctx, r.store, deviceKey(s.Serial), func(old *Device) (*Device, error) {
			if old != nil {
				return nil, fmt.Errorf("%w: %s", ErrDeviceExists, s.Serial)
			}
			return dev, nil
		})
		if err != nil {
			// Undo what was written; if the store fails that too, the batch record stays for
			// RollBackImports.
			if r.removeUnassigned(context.WithoutCancel(ctx), serials[:i]) == i {
				_ = r.store.Delete(context.WithoutCancel(ctx), batch)
			}
			return nil, err
		}
	}
	return serials, r.store.Delete(ctx, batch)
}

// StaleImport is how old an unfinished import must be before RollBackImports undoes it: older
// than any import still running on another node sharing the store.
const StaleImport = 2 * time.Minute

// RollBackImports undoes imports that a crash interrupted: their tokens go, unless a user has
// enabled one since. Call it at start.
func (r *Devices) RollBackImports(ctx context.Context) (int, error) {
	batches, err := r.store.List(ctx, "imports/")
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, b := range batches {
		started, err := strconv.ParseInt(store.LastPart(b), 10, 64)
		if err == nil && r.now().Sub(time.Unix(0, started)) < StaleImport {
			continue // perhaps still running elsewhere
		}
		serials, err := store.GetJSON[[]string](ctx, r.store, b)
		if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrUnreadable) {
			return removed, err
		}
		if serials != nil {
			removed += r.removeUnassigned(ctx, *serials)
		}
		if err := r.store.Delete(ctx, b); err != nil {
			return removed, err
		}
	}
	return removed, nil
}

func (r *Devices) removeUnassigned(ctx context.Context, serials []string) int {
	n := 0
	for _, serial := range serials {
		if r.Delete(ctx, serial) == nil {
			n++
		}
	}
	return n
}

// All lists every device, assigned or not (ListVirtualMFADevices).
func (r *Devices) All(ctx context.Context) ([]*Device, error) {
	keys, err := r.store.List(ctx, "devices/")
	if err != nil {
		return nil, err
	}
	out := make([]*Device, 0, len(keys))
	for _, k := range keys {
		d, err := r.Get(ctx, store.LastPart(k))
		if errors.Is(err, ErrNoSuchDevice) || errors.Is(err, store.ErrUnreadable) {
			continue // deleted meanwhile, or a crashed writer's leftover
		}
		if err != nil {
			return nil, err
		}
		if d.Serial == store.LastPart(k) { // a whole temporary file is not a device either
			out = append(out, d)
		}
	}
	sortDevices(out)
	return out, nil
}
