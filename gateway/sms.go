package gateway

import (
	"context"
	"net/http"
	"slices"

	"go.uber.org/zap"

	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/session"
)

// The deprecated SMS factor: off unless the operator configures a webhook, and never for the
// group admins (AWS never offered it to the root user).

const adminsGroup = "admins"

func (g *Gate) smsAllowed(c *session.Claims) error {
	if g.svc.SMS == nil {
		return apiErr(CodeNoSuchEntity, "SMS codes are not enabled on this site.")
	}
	if slices.Contains(c.Groups, adminsGroup) {
		return apiErr(CodeAccessDenied, "SMS codes are not allowed for administrators; use an authenticator app or a security key.")
	}
	return nil
}

type smsDeviceRequest struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

func (g *Gate) apiCreateSMS(w http.ResponseWriter, r *http.Request) {
	c, req, ok := signedInJSON[smsDeviceRequest](g, w, r)
	if !ok {
		return
	}
	dev, err := g.createSMS(r.Context(), c, req.Name, req.Phone)
	if err != nil {
		g.svc.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Serial string `json:"serial"`
		Sent   bool   `json:"sent"`
	}{dev.Serial, true})
}

func (g *Gate) createSMS(ctx context.Context, c *Caller, name, phone string) (*factors.Device, error) {
	if err := g.smsAllowed(&c.Claims); err != nil {
		return nil, err
	}
	if err := g.svc.mayEnrol(ctx, c); err != nil {
		return nil, err
	}
	dev, err := g.svc.SMS.Create(ctx, c.User(), name, phone)
	if err != nil {
		return nil, err
	}
	g.svc.audit("device_created", zap.String("user", c.User()), zap.String("serial", dev.Serial), zap.String("type", dev.Type))
	return dev, nil
}

type smsSendRequest struct {
	Serial string `json:"serial"`
}

func (g *Gate) apiSMSSend(w http.ResponseWriter, r *http.Request) {
	c, req, ok := signedInJSON[smsSendRequest](g, w, r)
	if !ok {
		return
	}
	if err := g.sendSMS(r.Context(), c, req.Serial); err != nil {
		g.svc.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Sent bool `json:"sent"`
	}{true})
}

func (g *Gate) sendSMS(ctx context.Context, c *Caller, serial string) error {
	if err := g.smsAllowed(&c.Claims); err != nil {
		return err
	}
	if err := g.svc.refuseIfLocked(ctx, c.User(), factors.TypeSMS); err != nil {
		return err
	}
	return g.svc.SMS.Send(ctx, c.User(), serial)
}

// checkSMS passes a factor with the code an SMS device was sent.
func (g *Gate) checkSMS(ctx context.Context, c *Caller, serial, code string) (*factors.Device, error) {
	if err := g.smsAllowed(&c.Claims); err != nil {
		return nil, err
	}
	return g.svc.attempt(ctx, c.User(), factors.TypeSMS, "factor_passed", func() (*factors.Device, error) {
		return g.svc.SMS.Check(ctx, c.User(), serial, code, false)
	})
}

// enableSMS enables an SMS device with the code it was sent, for a caller who may enrol.
func (g *Gate) enableSMS(ctx context.Context, c *Caller, serial, code string) (*factors.Device, error) {
	if err := g.smsAllowed(&c.Claims); err != nil {
		return nil, err
	}
	if err := g.svc.mayEnrol(ctx, c); err != nil {
		return nil, err
	}
	return g.svc.attempt(ctx, c.User(), factors.TypeSMS, "device_enabled", func() (*factors.Device, error) {
		return g.svc.SMS.Check(ctx, c.User(), serial, code, true)
	})
}

// isSMSDevice reports whether serial names one of the SMS devices (no error: unknown is no).
func (g *Gate) isSMSDevice(ctx context.Context, serial string) bool {
	if g.svc.SMS == nil || serial == "" {
		return false
	}
	d, err := g.svc.Devices.Get(ctx, serial)
	return err == nil && d.Type == factors.TypeSMS
}
