package factors

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/xml"
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

// PSKC (RFC 6030), the parts a TOTP token file uses.
type pskcContainer struct {
	XMLName   xml.Name `xml:"urn:ietf:params:xml:ns:keyprov:pskc KeyContainer"`
	MACMethod *struct {
		Algorithm string         `xml:"Algorithm,attr"`
		MACKey    pskcCipherData `xml:"MACKey"`
	} `xml:"MACMethod"`
	Packages []struct {
		SerialNo string `xml:"DeviceInfo>SerialNo"`
		Key      struct {
			Algorithm string `xml:"Algorithm,attr"`
			Format    *struct {
				Length   int    `xml:"Length,attr"`
				Encoding string `xml:"Encoding,attr"`
			} `xml:"AlgorithmParameters>ResponseFormat"`
			Suite  string `xml:"AlgorithmParameters>Suite"`
			Secret struct {
				Plain     string          `xml:"PlainValue"`
				Encrypted *pskcCipherData `xml:"EncryptedValue"`
				MAC       string          `xml:"ValueMAC"`
			} `xml:"Data>Secret"`
			Interval string `xml:"Data>TimeInterval>PlainValue"`
		} `xml:"Key"`
	} `xml:"KeyPackage"`
}

type pskcCipherData struct {
	Method struct {
		Algorithm string `xml:"Algorithm,attr"`
	} `xml:"http://www.w3.org/2001/04/xmlenc# EncryptionMethod"`
	Value string `xml:"http://www.w3.org/2001/04/xmlenc# CipherData>CipherValue"`
}

const (
	aes128CBC = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
	hmacSHA1  = "http://www.w3.org/2000/09/xmldsig#hmac-sha1"
)

// ParseSeedsPSKC reads an RFC 6030 key container of TOTP keys, with plain secrets or secrets
// under a pre-shared AES-128 key (psk), whose HMAC-SHA1 MACs must all verify. One bad key
// package, or one MAC that does not verify, refuses the whole file.
func ParseSeedsPSKC(data []byte, psk []byte) ([]HardwareSeed, error) {
	var c pskcContainer
	dec := xml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&c); err != nil {
		return nil, &ImportError{Where: "file", Err: fmt.Errorf("%w: not a PSKC (RFC 6030) key container: %v", ErrInvalidInput, err)}
	}
	if len(c.Packages) == 0 || len(c.Packages) > maxImport {
		return nil, &ImportError{Where: "file", Err: fmt.Errorf("%w: want 1 to %d key packages, got %d", ErrInvalidInput, maxImport, len(c.Packages))}
	}
	var macKey []byte
	if c.MACMethod != nil {
		if c.MACMethod.Algorithm != hmacSHA1 {
			return nil, &ImportError{Where: "MACMethod", Err: fmt.Errorf("%w: MAC algorithm %q is not supported (want %s)", ErrInvalidInput, c.MACMethod.Algorithm, hmacSHA1)}
		}
		var err error
		if macKey, err = decryptPSKC(&c.MACMethod.MACKey, psk); err != nil {
			return nil, &ImportError{Where: "MACMethod", Err: err}
		}
	}
	var out seedList
	for i, p := range c.Packages {
		where := fmt.Sprintf("KeyPackage %d (serial %q)", i+1, p.SerialNo)
		k := p.Key
		switch k.Algorithm {
		case "urn:ietf:params:xml:ns:keyprov:pskc:totp", "urn:ietf:params:xml:ns:keyprov:pskc#totp":
		case "urn:ietf:params:xml:ns:keyprov:pskc:hotp", "urn:ietf:params:xml:ns:keyprov:pskc#hotp":
			return nil, &ImportError{Where: where, Err: fmt.Errorf("%w: an HOTP (counter-based) key; caddy-mfa takes TOTP tokens only", ErrInvalidInput)}
		default:
			return nil, &ImportError{Where: where, Err: fmt.Errorf("%w: key algorithm %q is not TOTP", ErrInvalidInput, k.Algorithm)}
		}
		var seed []byte
		var err error
		switch {
		case k.Secret.Encrypted != nil:
			if macKey == nil {
				err = fmt.Errorf("%w: an encrypted secret without a MACMethod", ErrInvalidInput)
			} else if err = checkPSKCMAC(k.Secret.Encrypted.Value, k.Secret.MAC, macKey); err == nil {
				seed, err = decryptPSKC(k.Secret.Encrypted, psk)
			}
		case strings.TrimSpace(k.Secret.Plain) != "":
			if seed, err = base64.StdEncoding.DecodeString(strings.TrimSpace(k.Secret.Plain)); err != nil {
				err = fmt.Errorf("%w: PlainValue is not base64", ErrInvalidInput)
			}
		default:
			err = fmt.Errorf("%w: no secret", ErrInvalidInput)
		}
		if err != nil {
			return nil, &ImportError{Where: where, Err: err}
		}
		digits, period, alg := "6", "30", "SHA1"
		if k.Format != nil {
			if k.Format.Encoding != "" && !strings.EqualFold(k.Format.Encoding, "DECIMAL") {
				return nil, &ImportError{Where: where, Err: fmt.Errorf("%w: response encoding %q is not DECIMAL", ErrInvalidInput, k.Format.Encoding)}
			}
			digits = strconv.Itoa(k.Format.Length)
		}
		if iv := strings.TrimSpace(k.Interval); iv != "" {
			period = iv
		}
		if s := strings.TrimSpace(k.Suite); s != "" {
			alg = s
		}
		err = out.add(where)(seedFromFields(strings.TrimSpace(p.SerialNo), "", base32Of(seed), "", alg, digits, period))
		clear(seed)
		if err != nil {
			return nil, err
		}
	}
	return out.seeds, nil
}

func base32Of(b []byte) string { return b32.EncodeToString(b) }

// checkPSKCMAC verifies RFC 6030's ValueMAC: HMAC-SHA1 over IV||ciphertext.
func checkPSKCMAC(cipherValue, macValue string, macKey []byte) error {
	ct, err1 := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(cipherValue), ""))
	want, err2 := base64.StdEncoding.DecodeString(strings.TrimSpace(macValue))
	if err1 != nil || err2 != nil || len(want) == 0 {
		return fmt.Errorf("%w: missing or malformed ValueMAC", ErrInvalidInput)
	}
	m := hmac.New(sha1.New, macKey)
	m.Write(ct)
	if !hmac.Equal(m.Sum(nil), want) {
		return fmt.Errorf("%w: the MAC does not verify (wrong pre-shared key, or the file was altered)", ErrInvalidInput)
	}
	return nil
}

// decryptPSKC opens an AES-128-CBC value (IV||ciphertext, PKCS#7 padding) with the pre-shared key.
func decryptPSKC(d *pskcCipherData, psk []byte) ([]byte, error) {
	if d.Method.Algorithm != aes128CBC {
		return nil, fmt.Errorf("%w: encryption %q is not supported (want %s)", ErrInvalidInput, d.Method.Algorithm, aes128CBC)
	}
	if len(psk) != 16 {
		return nil, fmt.Errorf("%w: the file is encrypted: give its 16-byte pre-shared key (X-PSKC-Key, hex)", ErrInvalidInput)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(d.Value), ""))
	if err != nil || len(raw) < 2*aes.BlockSize || len(raw)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: malformed CipherValue", ErrInvalidInput)
	}
	block, _ := aes.NewCipher(psk)
	plain := make([]byte, len(raw)-aes.BlockSize)
	cipher.NewCBCDecrypter(block, raw[:aes.BlockSize]).CryptBlocks(plain, raw[aes.BlockSize:])
	pad := int(plain[len(plain)-1])
	if pad == 0 || pad > aes.BlockSize || pad > len(plain) || !bytes.Equal(plain[len(plain)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil, fmt.Errorf("%w: the value does not decrypt (wrong pre-shared key?)", ErrInvalidInput)
	}
	return plain[:len(plain)-pad], nil
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
