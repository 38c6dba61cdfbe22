package sim

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/caddy-mfa/caddy-mfa/canonical"
	"github.com/caddy-mfa/caddy-mfa/policy"
)

// logLine is what the replay reads of one entry of Caddy's JSON access log: the request, and
// the mfa_* fields the gate adds (caddymodule's logDecision). Nothing else is kept.
type logLine struct {
	TS      json.RawMessage `json:"ts"`
	Request *struct {
		RemoteIP string    `json:"remote_ip"`
		ClientIP string    `json:"client_ip"`
		Method   string    `json:"method"`
		Host     string    `json:"host"`
		URI      string    `json:"uri"`
		TLS      *struct{} `json:"tls"`
	} `json:"request"`
	Secure         *bool    `json:"mfa_secure"` // where a trusted proxy ended TLS
	AuthType       string   `json:"mfa_auth_type"`
	User           string   `json:"mfa_user"`
	Groups         []string `json:"mfa_groups"`
	Present        *bool    `json:"mfa_present"`
	Age            *int64   `json:"mfa_age"`
	Method         string   `json:"mfa_method"`
	UserVerified   bool     `json:"mfa_user_verified"`
	BackupEligible bool     `json:"mfa_backup_eligible"`
	Aaguid         string   `json:"mfa_aaguid"`
	Decision       string   `json:"mfa_decision"`
}

// gated reports whether a gate decided the request (the line carries the mfa_* fields).
func (l *logLine) gated() bool { return l.Request != nil && l.Decision != "" && l.AuthType != "" }

// context rebuilds the policy's view of the logged request: the request line in the gate's
// canonical form, the client, the time, and the caller as the gate saw it.
func (l *logLine) context() (policy.Context, error) {
	at, err := logTime(l.TS)
	if err != nil {
		return policy.Context{}, err
	}
	ctx := policy.Context{Host: canonical.Host(l.Request.Host), Time: at, Secure: l.Request.TLS != nil, AuthType: l.AuthType}
	if l.Secure != nil {
		ctx.Secure = *l.Secure
	}
	if ctx.Method, ctx.Path, err = requestLine(Request{Method: l.Request.Method, Path: l.Request.URI}); err != nil {
		return ctx, err
	}
	ip := l.Request.ClientIP
	if ip == "" {
		ip = l.Request.RemoteIP
	}
	if ip != "" {
		if ctx.SourceIP, err = netip.ParseAddr(ip); err != nil {
			return ctx, fmt.Errorf("request.client_ip: %q is not an IP address", ip)
		}
	}
	ctx.UserID, ctx.Groups = l.User, l.Groups
	ctx.MFAPresent = l.Present != nil && *l.Present
	if l.Age != nil {
		ctx.MFATime = at.Add(-time.Duration(*l.Age) * time.Second)
		ctx.MFAMethod, ctx.MFAUserVerified, ctx.MFABackupEligible, ctx.MFAAaguid = l.Method, l.UserVerified, l.BackupEligible, l.Aaguid
	}
	return ctx, nil
}

// logTime reads Caddy's "ts": epoch seconds (the default) or an RFC 3339 string (time_format).
func logTime(raw json.RawMessage) (time.Time, error) {
	var secs float64
	if json.Unmarshal(raw, &secs) == nil {
		return time.Unix(0, int64(secs*float64(time.Second))).UTC(), nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s)); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("ts: want epoch seconds or RFC 3339, got %s", raw)
}
