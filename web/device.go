package web

import (
	"time"

	"github.com/caddy-mfa/caddy-mfa/factors"
)

// DeviceView is an MFA device as the site and admin APIs show it (ListMFADevices).
type DeviceView struct {
	Serial     string     `json:"serial"`
	Type       string     `json:"type"`
	Name       string     `json:"name"`
	Enabled    bool       `json:"enabled"`
	EnableDate *time.Time `json:"enable_date"`
	LastUsed   *time.Time `json:"last_used"`
}

// ViewOfDevice is d as the APIs show it.
func ViewOfDevice(d *factors.Device) DeviceView {
	v := DeviceView{Serial: d.Serial, Type: d.Type, Name: d.Name, Enabled: d.Enabled}
	if !d.EnableDate.IsZero() {
		v.EnableDate = &d.EnableDate
	}
	if !d.LastUsed.IsZero() {
		v.LastUsed = &d.LastUsed
	}
	return v
}
