package site

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/web"
)

// MFA-protected API access through the JSON API: GetSessionToken and access keys.

type sessionTokenRequest struct {
	Serial          string          `json:"serial"`
	Code            string          `json:"code"`
	DurationSeconds *int64          `json:"duration_seconds"`
	Policy          json.RawMessage `json:"policy"` // a session policy document
}

type sessionTokenResponse struct {
	SessionToken     string    `json:"session_token"`
	TokenType        string    `json:"token_type"`
	Expiration       time.Time `json:"expiration"`
	MFAAuthenticated bool      `json:"mfa_authenticated"`
}

// apiSessionToken is STS GetSessionToken: a long-term access key, and optionally a device
// serial and code, buy a short-lived session token that carries the MFA state.
func (s *Site) apiSessionToken(w http.ResponseWriter, r *http.Request) {
	c, err := s.credentials.Identify(r)
	if err != nil {
		web.RefuseCredential(w, r, err, web.LoginURL(r, s.prefix, s.external))
		return
	}
	if err := auth.SessionTokenCaller(c); err != nil {
		if c.AuthType == policy.AuthAnonymous {
			w.Header().Set("WWW-Authenticate", `Basic realm="caddy-mfa"`)
		}
		s.fail(w, err)
		return
	}
	var req sessionTokenRequest
	if e := web.DecodeJSON(w, r, &req); e != nil {
		web.WriteError(w, e)
		return
	}
	tok, err := s.ops.GetSessionToken(r.Context(), c, auth.SessionTokenRequest{Serial: req.Serial, Code: req.Code,
		DurationSeconds: req.DurationSeconds, Grant: auth.Grant{Audience: s.credentials.Audience(r), Policy: req.Policy}})
	if err != nil {
		s.fail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, sessionTokenResponse{SessionToken: tok.Token, TokenType: "Bearer", Expiration: tok.Expires, MFAAuthenticated: tok.MFA})
}

type accessKeyView struct {
	AccessKeyID string     `json:"access_key_id"`
	Created     time.Time  `json:"created"`
	Secret      string     `json:"secret_access_key,omitempty"`
	LastUsed    *time.Time `json:"last_used,omitempty"`
}

func (s *Site) apiCreateAccessKey(w http.ResponseWriter, r *http.Request) {
	c, ok := s.signedIn(w, r, csrfHeader(r))
	if !ok {
		return
	}
	nk, err := s.ops.CreateAccessKey(r.Context(), c)
	if err != nil {
		s.fail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, accessKeyView{AccessKeyID: nk.Key.ID, Created: nk.Key.Created, Secret: nk.Secret})
}

func (s *Site) apiListAccessKeys(w http.ResponseWriter, r *http.Request) {
	c, ok := s.signedIn(w, r, "")
	if !ok {
		return
	}
	keys, err := s.ops.AccessKeys.ForUser(r.Context(), c.User())
	if err != nil {
		s.fail(w, err)
		return
	}
	out := make([]accessKeyView, 0, len(keys))
	for _, k := range keys {
		out = append(out, accessKeyView{AccessKeyID: k.ID, Created: k.Created})
	}
	web.WriteJSON(w, http.StatusOK, out)
}

func (s *Site) apiDeleteAccessKey(w http.ResponseWriter, r *http.Request) {
	c, ok := s.signedIn(w, r, csrfHeader(r))
	if !ok {
		return
	}
	k, err := s.ops.DeleteAccessKey(r.Context(), c, r.PathValue("id"))
	if err != nil {
		s.fail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, struct {
		Deleted string `json:"deleted"`
	}{k.ID})
}
