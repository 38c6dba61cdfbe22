package web

import (
	"bytes"
	"encoding/base64"
	"image/png"

	"github.com/pquerna/otp"

	"github.com/caddy-mfa/caddy-mfa/factors"
)

// VirtualDevice is a new virtual device's seed as an authenticator app takes it.
type VirtualDevice struct {
	Serial     string `json:"serial"`
	Secret     string `json:"secret"`
	OTPAuthURI string `json:"otpauth_uri"`
	QRPNG      string `json:"qr_png"` // base64 PNG
}

// NewVirtualDevice renders a new virtual device's seed for an authenticator app, and forgets it.
func NewVirtualDevice(issuer, user string, nv *factors.NewVirtual) (*VirtualDevice, error) {
	key, err := nv.Device.TOTP.Key(issuer, user, nv.Seed)
	clear(nv.Seed)
	if err != nil {
		return nil, err
	}
	qr, err := QRPNG(key)
	if err != nil {
		return nil, err
	}
	return &VirtualDevice{Serial: nv.Device.Serial, Secret: key.Secret(), OTPAuthURI: key.URL(), QRPNG: qr}, nil
}

// QRPNG draws the key's otpauth URI as a QR code, base64 PNG.
func QRPNG(key *otp.Key) (string, error) {
	img, err := key.Image(256, 256)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}
