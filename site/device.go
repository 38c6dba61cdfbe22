package site

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/deviceauth"
	"github.com/caddy-mfa/caddy-mfa/web"
)

// Command-line sign-in through the JSON API (RFC 8628): a client asks for codes and polls; a
// signed-in user's script approves or denies. The page is in pages_device.go.

type deviceAuthorizeRequest struct {
	ClientName      string `json:"client_name"`
	DurationSeconds *int64 `json:"duration_seconds"`
}

type deviceAuthorizeResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
}

// apiDeviceAuthorize is RFC 8628's device authorization endpoint: anyone may call it.
func (s *Site) apiDeviceAuthorize(w http.ResponseWriter, r *http.Request) {
	var req deviceAuthorizeRequest
	if e := web.DecodeJSON(w, r, &req); e != nil {
		web.WriteError(w, e)
		return
	}
	st, err := s.ops.AuthorizeDevice(r.Context(), auth.DeviceRequest{ClientName: req.ClientName, DurationSeconds: req.DurationSeconds,
		Address: s.clientIP(r), Audience: s.credentials.Audience(r)})
	if err != nil {
		s.fail(w, err)
		return
	}
	uri := s.siteOrigin(r) + s.prefix + "/device"
	code := deviceauth.FormatUserCode(st.UserCode)
	web.WriteJSON(w, http.StatusOK, deviceAuthorizeResponse{DeviceCode: st.DeviceCode, UserCode: code,
		VerificationURI: uri, VerificationURIComplete: uri + "?code=" + url.QueryEscape(code),
		ExpiresIn: int64(st.Expires.Sub(s.ops.Now()) / time.Second), Interval: int64(st.Interval / time.Second)})
}

// siteOrigin is the scheme and host the client reached this site at.
func (s *Site) siteOrigin(r *http.Request) string {
	if s.ops.Cookies.Secure(r) {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

type deviceTokenRequest struct {
	DeviceCode string `json:"device_code"`
}

// oauthError is RFC 6749 section 5.2's error body, which RFC 8628 clients read.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// apiDeviceToken is RFC 8628's token endpoint for the device code: 400 with the RFC's error
// while the grant is not approved, then once the session token.
func (s *Site) apiDeviceToken(w http.ResponseWriter, r *http.Request) {
	var req deviceTokenRequest
	if e := web.DecodeJSON(w, r, &req); e != nil {
		web.WriteJSON(w, http.StatusBadRequest, oauthError{"invalid_request", e.Message})
		return
	}
	tok, err := s.ops.PollDevice(r.Context(), req.DeviceCode, s.credentials.Audience(r))
	var de *deviceauth.Error
	if errors.As(err, &de) {
		web.WriteJSON(w, http.StatusBadRequest, oauthError{de.Code, de.Description})
		return
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, sessionTokenResponse{SessionToken: tok.Token, TokenType: "Bearer", Expiration: tok.Expires, MFAAuthenticated: tok.MFA})
}

type deviceApproveRequest struct {
	UserCode string `json:"user_code"`
	Approve  *bool  `json:"approve"`
}

type deviceDecision struct {
	UserCode   string `json:"user_code"`
	Approved   bool   `json:"approved"`
	ClientName string `json:"client_name"`
	Address    string `json:"address"`
}

// apiDeviceApprove approves or denies a user code for a signed-in user's script of the pages.
func (s *Site) apiDeviceApprove(w http.ResponseWriter, r *http.Request) {
	c, req, ok := signedInJSON[deviceApproveRequest](s, w, r)
	if !ok {
		return
	}
	if req.Approve == nil {
		web.Refuse(w, auth.CodeInvalidInput, "approve is required: true or false.")
		return
	}
	g, err := s.ops.DecideDevice(r.Context(), c, req.UserCode, *req.Approve)
	if err != nil {
		s.fail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, deviceDecision{UserCode: deviceauth.FormatUserCode(g.UserCode), Approved: *req.Approve,
		ClientName: g.ClientName, Address: g.Address})
}
