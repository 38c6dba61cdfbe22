package site

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/web"
)

// STS AssumeRole through the JSON API.

type assumeRoleRequest struct {
	Role            string          `json:"role"`
	SessionName     string          `json:"session_name"`
	Serial          string          `json:"serial"`
	Code            string          `json:"code"`
	DurationSeconds *int64          `json:"duration_seconds"`
	Policy          json.RawMessage `json:"policy"` // a session policy, beside the role's own
}

type assumeRoleResponse struct {
	SessionToken     string    `json:"session_token"`
	TokenType        string    `json:"token_type"`
	Expiration       time.Time `json:"expiration"`
	MFAAuthenticated bool      `json:"mfa_authenticated"`
	Role             string    `json:"role"`
	SessionName      string    `json:"role_session_name"`
}

// apiAssumeRole is STS AssumeRole: a caller with an access key, a session token or a browser
// session (with its CSRF token) buys a token of a role whose trust policy admits them.
func (s *Site) apiAssumeRole(w http.ResponseWriter, r *http.Request) {
	c, ok := s.signedIn(w, r, csrfHeader(r))
	if !ok {
		return
	}
	var req assumeRoleRequest
	if e := web.DecodeJSON(w, r, &req); e != nil {
		web.WriteError(w, e)
		return
	}
	tok, err := s.ops.AssumeRole(r.Context(), c, auth.AssumeRoleRequest{
		Role: req.Role, SessionName: req.SessionName, Serial: req.Serial, Code: req.Code, DurationSeconds: req.DurationSeconds,
		Grant:   auth.Grant{Audience: s.credentials.Audience(r), Policy: req.Policy},
		Request: s.credentials.RequestContext(r),
	})
	if err != nil {
		s.fail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, assumeRoleResponse{SessionToken: tok.Token, TokenType: "Bearer", Expiration: tok.Expires,
		MFAAuthenticated: tok.MFA, Role: tok.Role, SessionName: tok.RoleSessionName})
}
