package gateway

import (
	"errors"
	"io"
	"net"
	"net/http"
	"slices"

	"go.uber.org/zap"

	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/identity"
	"github.com/caddy-mfa/caddy-mfa/policy"
)

// WebAuthnSite is the operator's relying party: its id (a host name) and the origins that may
// use it. Empty: both are derived from each request's own site.
type WebAuthnSite struct {
	ID      string
	Origins []string
}

// relyingParty is the relying party of one ceremony: the configured one, or the request's site.
func (g *Gate) relyingParty(r *http.Request) factors.RelyingParty {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	origin := scheme + "://" + r.Host
	site := g.svc.WebAuthnSite
	if site.ID == "" {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		return factors.RelyingParty{ID: host, Origin: origin}
	}
	if !slices.Contains(site.Origins, origin) && len(site.Origins) > 0 {
		origin = site.Origins[0]
	}
	return factors.RelyingParty{ID: site.ID, Origin: origin}
}

// keyCaller is the signed-in caller of a WebAuthn call with their random user handle.
func (g *Gate) keyCaller(w http.ResponseWriter, r *http.Request) (*Caller, []byte, bool) {
	if g.svc.WebAuthn == nil {
		writeError(w, apiErr(CodeNoSuchEntity, "Security keys are not enabled on this site."))
		return nil, nil, false
	}
	c, ok := g.signedIn(w, r, csrfHeader(r))
	if !ok {
		return nil, nil, false
	}
	var u *identity.User
	var err error
	if c.AuthType == policy.AuthExternal {
		u, err = g.svc.Users.EnsureExternal(r.Context(), c.User())
	} else {
		u, err = g.svc.Users.Get(r.Context(), c.User())
	}
	if err != nil {
		g.svc.fail(w, err)
		return nil, nil, false
	}
	return c, u.Handle, true
}

// keyAnswer starts a ceremony's finish: the caller and the browser's answer (toJSON()'s body).
func (g *Gate) keyAnswer(w http.ResponseWriter, r *http.Request) (*Caller, []byte, []byte, bool) {
	c, handle, ok := g.keyCaller(w, r)
	if !ok {
		return nil, nil, nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodySize))
	if isTooLarge(err) {
		writeError(w, apiErr(CodeEntityTooLarge, msgTooLarge))
		return nil, nil, nil, false
	}
	if err != nil {
		writeError(w, apiErr(CodeInvalidInput, "The request body could not be read."))
		return nil, nil, nil, false
	}
	return c, handle, body, true
}

func (g *Gate) apiKeyRegisterBegin(w http.ResponseWriter, r *http.Request) {
	c, handle, ok := g.keyCaller(w, r)
	if !ok {
		return
	}
	var req createVirtualRequest
	if e := decodeJSON(w, r, &req); e != nil {
		writeError(w, e)
		return
	}
	if err := g.svc.mayEnrol(r.Context(), c); err != nil {
		g.svc.fail(w, err)
		return
	}
	creation, err := g.svc.WebAuthn.BeginRegistration(r.Context(), c.User(), handle, req.Name, g.relyingParty(r))
	if err != nil {
		g.svc.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, creation)
}

// apiKeyRegisterFinish keeps the new key. As with any device, only the user's very first one
// passes a factor (the session then carries webauthn); a later key leaves the session as it was.
func (g *Gate) apiKeyRegisterFinish(w http.ResponseWriter, r *http.Request) {
	c, handle, body, ok := g.keyAnswer(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	if err := g.svc.mayEnrol(ctx, c); err != nil { // again: the factor may have gone stale since begin
		g.svc.fail(w, err)
		return
	}
	dev, err := g.svc.WebAuthn.FinishRegistration(ctx, c.User(), handle, body)
	if err != nil {
		g.svc.Log.Info("security key registration refused", zap.String("user", c.User()), zap.Error(err))
		g.svc.fail(w, err)
		return
	}
	g.svc.audit("device_created", zap.String("user", c.User()), zap.String("serial", dev.Serial), zap.String("type", dev.Type))
	g.svc.audit("device_enabled", zap.String("user", c.User()), zap.String("serial", dev.Serial))
	first, err := g.svc.firstEnrolment(ctx, c, dev)
	if err != nil {
		g.svc.fail(w, err)
		return
	}
	g.finishKey(w, r, c, dev, first)
}

func (g *Gate) apiKeyLoginBegin(w http.ResponseWriter, r *http.Request) {
	c, handle, ok := g.keyCaller(w, r)
	if !ok {
		return
	}
	if err := g.svc.refuseIfLocked(r.Context(), c.User(), factors.TypeWebAuthn); err != nil {
		g.svc.fail(w, err)
		return
	}
	assertion, err := g.svc.WebAuthn.BeginLogin(r.Context(), c.User(), handle, g.relyingParty(r))
	if err != nil {
		g.svc.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, assertion)
}

// apiKeyLoginFinish passes a factor with a security key, as one factor attempt: a refused
// assertion counts toward the lockout; a counter that went backwards (a cloned key) is refused
// and logged.
func (g *Gate) apiKeyLoginFinish(w http.ResponseWriter, r *http.Request) {
	c, handle, body, ok := g.keyAnswer(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	dev, err := g.svc.attempt(ctx, c.User(), factors.TypeWebAuthn, "factor_passed", func() (*factors.Device, error) {
		dev, err := g.svc.WebAuthn.FinishLogin(ctx, c.User(), handle, body)
		if errors.Is(err, factors.ErrClonedKey) {
			g.svc.Log.Warn("security key counter went backwards: the key may be cloned", zap.String("user", c.User()), zap.Error(err))
			g.svc.audit("webauthn_clone_detected", zap.String("user", c.User()))
		}
		return dev, err
	})
	if err != nil {
		g.svc.fail(w, err)
		return
	}
	g.finishKey(w, r, c, dev, true)
}

// finishKey answers a finished ceremony; when it passed a factor, browser sessions get a cookie
// that carries it.
func (g *Gate) finishKey(w http.ResponseWriter, r *http.Request, c *Caller, dev *factors.Device, passed bool) {
	resp := struct {
		Serial    string   `json:"serial"`
		MFA       mfaState `json:"mfa"`
		CSRFToken string   `json:"csrf_token,omitempty"`
	}{Serial: dev.Serial, MFA: g.mfaStateOf(c)}
	if passed && c.browser() {
		next, err := g.startFactorSession(w, r, c, factors.TypeWebAuthn, dev.Serial)
		if err != nil {
			g.svc.fail(w, err)
			return
		}
		resp.MFA, resp.CSRFToken = g.mfaStateOf(&Caller{Claims: next}), g.svc.Cookies.CSRFToken(&next)
	}
	writeJSON(w, http.StatusOK, resp)
}
