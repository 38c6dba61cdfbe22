package factors

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
)

// PSKC (RFC 6030), the parts a TOTP token file uses.
type pskcContainer struct {
	XMLName   xml.Name `xml:"urn:ietf:params:xml:ns:keyprov:pskc KeyContainer"`
	MACMethod *struct {
		Algorithm string         `xml:"Algorithm,attr"`
		MACKey    pskcCipherData `xml:"MACKey"`
	} `xml:"MACMethod"`
	Packages []pskcKeyPackage `xml:"KeyPackage"`
}

// pskcKeyPackage is one token: its serial and its key.
type pskcKeyPackage struct {
	SerialNo string  `xml:"DeviceInfo>SerialNo"`
	Key      pskcKey `xml:"Key"`
}

type pskcKey struct {
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
	c, err := decodePSKC(data)
	if err != nil {
		return nil, err
	}
	macKey, err := c.macKey(psk)
	if err != nil {
		return nil, err
	}
	var out seedList
	for i := range c.Packages {
		p := &c.Packages[i]
		where := fmt.Sprintf("KeyPackage %d (serial %q)", i+1, p.SerialNo)
		if err := out.add(where)(p.seed(macKey, psk)); err != nil {
			return nil, err
		}
	}
	return out.seeds, nil
}

// decodePSKC reads the container and refuses one with no key package, or more than an import
// takes.
func decodePSKC(data []byte) (*pskcContainer, error) {
	var c pskcContainer
	dec := xml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&c); err != nil {
		return nil, &ImportError{Where: "file", Err: fmt.Errorf("%w: not a PSKC (RFC 6030) key container: %v", ErrInvalidInput, err)}
	}
	if len(c.Packages) == 0 || len(c.Packages) > maxImport {
		return nil, &ImportError{Where: "file", Err: fmt.Errorf("%w: want 1 to %d key packages, got %d", ErrInvalidInput, maxImport, len(c.Packages))}
	}
	return &c, nil
}

// macKey opens the key that the secrets' MACs are made with; nil when the file has none, as a
// file of plain secrets may.
func (c *pskcContainer) macKey(psk []byte) ([]byte, error) {
	if c.MACMethod == nil {
		return nil, nil
	}
	if c.MACMethod.Algorithm != hmacSHA1 {
		return nil, &ImportError{Where: "MACMethod", Err: fmt.Errorf("%w: MAC algorithm %q is not supported (want %s)", ErrInvalidInput, c.MACMethod.Algorithm, hmacSHA1)}
	}
	key, err := decryptPSKC(&c.MACMethod.MACKey, psk)
	if err != nil {
		return nil, &ImportError{Where: "MACMethod", Err: err}
	}
	return key, nil
}

// seed reads one key package as a hardware seed. Its errors are bare: the caller names the
// package.
func (p *pskcKeyPackage) seed(macKey, psk []byte) (HardwareSeed, error) {
	k := &p.Key
	switch k.Algorithm {
	case "urn:ietf:params:xml:ns:keyprov:pskc:totp", "urn:ietf:params:xml:ns:keyprov:pskc#totp":
	case "urn:ietf:params:xml:ns:keyprov:pskc:hotp", "urn:ietf:params:xml:ns:keyprov:pskc#hotp":
		return HardwareSeed{}, fmt.Errorf("%w: an HOTP (counter-based) key; caddy-mfa takes TOTP tokens only", ErrInvalidInput)
	default:
		return HardwareSeed{}, fmt.Errorf("%w: key algorithm %q is not TOTP", ErrInvalidInput, k.Algorithm)
	}
	secret, err := k.secret(macKey, psk)
	if err != nil {
		return HardwareSeed{}, err
	}
	// The secret goes on as Base32, the form seedFromFields shares with CSV; this copy is wiped.
	defer clear(secret)
	digits, period, alg := "6", "30", "SHA1"
	if k.Format != nil {
		if k.Format.Encoding != "" && !strings.EqualFold(k.Format.Encoding, "DECIMAL") {
			return HardwareSeed{}, fmt.Errorf("%w: response encoding %q is not DECIMAL", ErrInvalidInput, k.Format.Encoding)
		}
		digits = strconv.Itoa(k.Format.Length)
	}
	if iv := strings.TrimSpace(k.Interval); iv != "" {
		period = iv
	}
	if s := strings.TrimSpace(k.Suite); s != "" {
		alg = s
	}
	return seedFromFields(strings.TrimSpace(p.SerialNo), "", base32Of(secret), "", alg, digits, period)
}

// secret is the key's secret: decrypted once its MAC verifies, or plain.
func (k *pskcKey) secret(macKey, psk []byte) ([]byte, error) {
	switch {
	case k.Secret.Encrypted != nil:
		if macKey == nil {
			return nil, fmt.Errorf("%w: an encrypted secret without a MACMethod", ErrInvalidInput)
		}
		if err := checkPSKCMAC(k.Secret.Encrypted.Value, k.Secret.MAC, macKey); err != nil {
			return nil, err
		}
		return decryptPSKC(k.Secret.Encrypted, psk)
	case strings.TrimSpace(k.Secret.Plain) != "":
		seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(k.Secret.Plain))
		if err != nil {
			return nil, fmt.Errorf("%w: PlainValue is not base64", ErrInvalidInput)
		}
		return seed, nil
	default:
		return nil, fmt.Errorf("%w: no secret", ErrInvalidInput)
	}
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
