package caddymodule

import (
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddy-mfa/caddy-mfa/policy"
)

// decisionVar is where a request's decisionLog is kept in Caddy's request variables, so that a
// second mfa handler on the request replaces the first's fields instead of repeating them.
const decisionVar = "mfa.decision_log"

// logDecision adds what the gate saw and decided to Caddy's access log entry for the request
// (gate.Options.Observe). Never a credential: the gate hands over the policy's context, which
// holds none. When the server keeps no access log it does nothing; when it does, the fields are
// one inline object, written out only when the entry is.
func logDecision(r *http.Request, ctx policy.Context, res policy.Result) {
	srv, _ := r.Context().Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server)
	extra, _ := r.Context().Value(caddyhttp.ExtraLogFieldsCtxKey).(*caddyhttp.ExtraLogFields)
	if srv == nil || srv.Logs == nil || extra == nil {
		return
	}
	vars := requestVars(r)
	if d, ok := vars[decisionVar].(*decisionLog); ok {
		d.ctx, d.res = ctx, res
		return
	}
	d := &decisionLog{ctx: ctx, res: res, tls: r.TLS != nil}
	if vars != nil {
		vars[decisionVar] = d
	}
	extra.Add(zap.Inline(d))
}

// decisionLog writes the mfa_* fields: the caller's kind, user and groups, the factor's
// presence, age and method, the decision and the statement that made it. A key the request does
// not have is left out, as the policy sees it absent. req:Secure is written only where it is not
// the connection's TLS (Caddy's own "tls" field): when a trusted proxy ended TLS.
type decisionLog struct {
	ctx policy.Context
	res policy.Result
	tls bool
}

// MarshalLogObject implements zapcore.ObjectMarshaler.
func (d *decisionLog) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	c := &d.ctx
	authType := c.AuthType
	if authType == "" {
		authType = policy.AuthAnonymous
	}
	enc.AddString("mfa_auth_type", authType)
	if c.Secure != d.tls {
		enc.AddBool("mfa_secure", c.Secure)
	}
	if authType != policy.AuthAnonymous {
		enc.AddString("mfa_user", c.UserID)
		if len(c.Groups) > 0 {
			_ = enc.AddArray("mfa_groups", zapcore.ArrayMarshalerFunc(func(a zapcore.ArrayEncoder) error {
				for _, g := range c.Groups {
					a.AppendString(g)
				}
				return nil
			}))
		}
	}
	if authType != policy.AuthAnonymous && authType != policy.AuthAccessKey {
		enc.AddBool("mfa_present", c.MFAPresent)
	}
	if !c.MFATime.IsZero() {
		enc.AddInt64("mfa_age", int64(c.Time.Sub(c.MFATime)/time.Second))
		enc.AddString("mfa_method", c.MFAMethod)
		if c.MFAMethod == policy.MethodWebAuthn {
			enc.AddBool("mfa_user_verified", c.MFAUserVerified)
			enc.AddBool("mfa_backup_eligible", c.MFABackupEligible)
			enc.AddString("mfa_aaguid", c.MFAAaguid)
		}
	}
	enc.AddString("mfa_decision", d.res.Decision.String())
	if d.res.By != nil {
		enc.AddString("mfa_policy", d.res.By.Source)
		enc.AddString("mfa_sid", d.res.By.Sid)
	}
	return nil
}
