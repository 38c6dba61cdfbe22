package gateway

import (
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/session"
)

// DeactivateWithin is how recent a factor must be to deactivate a device oneself (AWS's
// AllowRemoveMfaOnlyIfRecentMfa: an hour).
const DeactivateWithin = time.Hour

func (g *Gate) apiResync(w http.ResponseWriter, r *http.Request) {
	c, req, ok := signedInJSON[twoCodes](g, w, r)
	if !ok {
		return
	}
	dev, err := g.resyncDevice(r, c, r.PathValue("serial"), req.Code1, req.Code2)
	if err != nil {
		g.svc.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, viewOf(dev))
}

// resyncDevice is ResyncMFADevice for the caller. It needs no factor (the device may be why the
// user cannot pass one), but failed pairs count toward the lockout.
func (g *Gate) resyncDevice(r *http.Request, c *Caller, serial, code1, code2 string) (*factors.Device, error) {
	if err := factors.ValidateSerial(serial); err != nil {
		return nil, err
	}
	if code1 == code2 {
		return nil, apiErr(CodeInvalidAuthCode, msgBadDeviceCode)
	}
	return g.svc.resync(r.Context(), c.User(), serial, code1, code2)
}

func (g *Gate) apiDeactivate(w http.ResponseWriter, r *http.Request) {
	c, ok := g.signedIn(w, r, csrfHeader(r))
	if !ok {
		return
	}
	if err := g.deactivateDevice(w, r, c, r.PathValue("serial")); err != nil {
		g.svc.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Deactivated string `json:"deactivated"`
	}{r.PathValue("serial")})
}

// deactivateDevice is DeactivateMFADevice for the caller: it needs a factor passed within the
// last hour, and voids every session and token of the user but this browser's, which is signed
// again so the user is not thrown out for tidying up.
func (g *Gate) deactivateDevice(w http.ResponseWriter, r *http.Request, c *Caller, serial string) error {
	if err := factors.ValidateSerial(serial); err != nil {
		return err
	}
	if err := fromBrowser(c); err != nil {
		return err
	}
	if within := c.within(DeactivateWithin); !c.Claims.MFAPresent() || g.svc.Now().Sub(c.Claims.MFATime) > within {
		return apiErr(CodeMFARequired, "Pass a factor first: removing a device needs one from the last "+span(within)+".")
	}
	if err := g.svc.deactivate(r.Context(), c.User(), serial); err != nil {
		return err
	}
	if !c.fromCookie {
		return nil
	}
	next := c.Claims
	next.Issued = g.svc.Now().Add(time.Millisecond).UTC() // after the revocation it just made
	next.SessionID = session.NewSessionID()
	if err := g.svc.Cookies.Write(w, r, next); err != nil {
		return err
	}
	c.Claims = next // the page drawn next carries the new session's CSRF token
	return nil
}

func (g *Gate) apiRecoveryCodes(w http.ResponseWriter, r *http.Request) {
	c, ok := g.signedIn(w, r, csrfHeader(r))
	if !ok {
		return
	}
	codes, err := g.newRecoveryCodes(r, c)
	if err != nil {
		g.svc.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Codes []string `json:"codes"`
	}{codes})
}

// newRecoveryCodes issues ten codes, voiding the old ones; it needs a fresh factor.
func (g *Gate) newRecoveryCodes(r *http.Request, c *Caller) ([]string, error) {
	if err := g.freshFactor(c); err != nil {
		return nil, err
	}
	codes, err := g.svc.Recovery.Generate(r.Context(), c.User())
	if err == nil {
		g.svc.audit("recovery_codes_issued", zap.String("user", c.User()))
	}
	return codes, err
}
