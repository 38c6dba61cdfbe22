package site

import (
	"io"
	"net/http"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/web"
)

// Security keys and passkeys through the JSON API: the browser's WebAuthn calls.

// relyingParty is the relying party of one ceremony: the configured one, or the request's site.
func (s *Site) relyingParty(r *http.Request) factors.RelyingParty {
	scheme := "http"
	if s.ops.Cookies.Secure(r) {
		scheme = "https"
	}
	return s.ops.RelyingParty(scheme, r.Host)
}

// keyCaller is the signed-in caller of a WebAuthn call with their random user handle.
func (s *Site) keyCaller(w http.ResponseWriter, r *http.Request) (*auth.Caller, []byte, bool) {
	c, ok := s.signedIn(w, r, csrfHeader(r))
	if !ok {
		return nil, nil, false
	}
	handle, err := s.ops.KeyHandle(r.Context(), c)
	if err != nil {
		s.fail(w, err)
		return nil, nil, false
	}
	return c, handle, true
}

// keyAnswer starts a ceremony's finish: the caller and the browser's answer (toJSON()'s body).
func (s *Site) keyAnswer(w http.ResponseWriter, r *http.Request) (*auth.Caller, []byte, []byte, bool) {
	c, handle, ok := s.keyCaller(w, r)
	if !ok {
		return nil, nil, nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, web.MaxBodySize))
	if web.IsTooLarge(err) {
		web.Refuse(w, auth.CodeEntityTooLarge, web.MsgTooLarge)
		return nil, nil, nil, false
	}
	if err != nil {
		web.Refuse(w, auth.CodeInvalidInput, "The request body could not be read.")
		return nil, nil, nil, false
	}
	return c, handle, body, true
}

func (s *Site) apiKeyRegisterBegin(w http.ResponseWriter, r *http.Request) {
	c, handle, ok := s.keyCaller(w, r)
	if !ok {
		return
	}
	var req createVirtualRequest
	if e := web.DecodeJSON(w, r, &req); e != nil {
		web.WriteError(w, e)
		return
	}
	creation, err := s.ops.BeginKeyRegistration(r.Context(), c, handle, req.Name, s.relyingParty(r))
	if err != nil {
		s.fail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, creation)
}

func (s *Site) apiKeyRegisterFinish(w http.ResponseWriter, r *http.Request) {
	c, handle, body, ok := s.keyAnswer(w, r)
	if !ok {
		return
	}
	dev, passed, err := s.ops.FinishKeyRegistration(r.Context(), c, handle, body)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.finishKey(w, r, c, dev, passed, false)
}

func (s *Site) apiKeyLoginBegin(w http.ResponseWriter, r *http.Request) {
	c, handle, ok := s.keyCaller(w, r)
	if !ok {
		return
	}
	assertion, err := s.ops.BeginKeyLogin(r.Context(), c, handle, s.relyingParty(r))
	if err != nil {
		s.fail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, assertion)
}

func (s *Site) apiKeyLoginFinish(w http.ResponseWriter, r *http.Request) {
	c, handle, body, ok := s.keyAnswer(w, r)
	if !ok {
		return
	}
	remember := wantsRemember(body)
	if err := s.refuseRemember(remember); err != nil {
		s.fail(w, err)
		return
	}
	dev, err := s.ops.FinishKeyLogin(r.Context(), c, handle, body)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.finishKey(w, r, c, dev, true, remember)
}

// finishKey answers a finished ceremony; when it passed a factor, browser sessions get a cookie
// that carries it (and a remember cookie, when asked).
func (s *Site) finishKey(w http.ResponseWriter, r *http.Request, c *auth.Caller, dev *factors.Device, passed, remember bool) {
	resp := sessionState{Serial: dev.Serial, MFA: s.mfaStateOf(&c.Claims)}
	if passed && c.Browser() {
		next := s.ops.FactorSession(r.Context(), c, dev)
		if err := s.writeSession(w, r, next); err != nil {
			s.fail(w, err)
			return
		}
		resp.MFA, resp.CSRFToken = s.mfaStateOf(&next), s.ops.Cookies.CSRFToken(&next)
		resp.Remembered = remember && s.rememberBrowser(w, r, next)
	}
	web.WriteJSON(w, http.StatusOK, resp)
}
