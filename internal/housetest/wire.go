package housetest

import "time"

// The site's JSON bodies as a client writes and reads them, kept apart from the site's own
// types so that a change to those shows up as a test failure.

// LoginResponse answers POST /api/login.
type LoginResponse struct {
	User               string `json:"user"`
	MFARequired        bool   `json:"mfa_required"`
	EnrollmentRequired bool   `json:"enrollment_required"`
	CSRFToken          string `json:"csrf_token"`
}

// VerifyRequest is the body of POST /api/verify.
type VerifyRequest struct {
	Serial string `json:"serial"`
	Code   string `json:"code"`
}

// MFAState is a session's MFA state as the API tells it.
type MFAState struct {
	Present bool   `json:"present"`
	Age     *int64 `json:"age,omitempty"`
	Method  string `json:"method,omitempty"`
	Serial  string `json:"serial,omitempty"`
}

// WhoAmI answers GET /api/whoami.
type WhoAmI struct {
	User      string   `json:"user"`
	Groups    []string `json:"groups"`
	AuthType  string   `json:"auth_type"`
	MFA       MFAState `json:"mfa"`
	CSRFToken string   `json:"csrf_token,omitempty"`
}

// SessionTokenRequest is the body of POST /api/session-token.
type SessionTokenRequest struct {
	Serial          string `json:"serial"`
	Code            string `json:"code"`
	DurationSeconds *int64 `json:"duration_seconds"`
}

// SessionTokenResponse answers POST /api/session-token.
type SessionTokenResponse struct {
	SessionToken     string    `json:"session_token"`
	TokenType        string    `json:"token_type"`
	Expiration       time.Time `json:"expiration"`
	MFAAuthenticated bool      `json:"mfa_authenticated"`
}

// SMSDeviceRequest is the body of POST /api/devices/sms.
type SMSDeviceRequest struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

// SMSSendRequest is the body of POST /api/sms/send.
type SMSSendRequest struct {
	Serial string `json:"serial"`
}

// AccessKeyView is an access key as the APIs show it.
type AccessKeyView struct {
	AccessKeyID string     `json:"access_key_id"`
	Created     time.Time  `json:"created"`
	Secret      string     `json:"secret_access_key,omitempty"`
	LastUsed    *time.Time `json:"last_used,omitempty"`
}

// UserView is a user as the admin API lists it.
type UserView struct {
	Name            string    `json:"name"`
	Groups          []string  `json:"groups"`
	Created         time.Time `json:"created"`
	PasswordEnabled bool      `json:"password_enabled"`
	MFAActive       bool      `json:"mfa_active"`
	Devices         int       `json:"devices"`
	AccessKeys      int       `json:"access_keys"`
}
