package caddymodule

import (
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-mfa/caddy-mfa/policy"
)

// logDecision adds what the gate saw and decided to Caddy's access log entry for the request
// (gate.Options.Observe): the caller's kind, user and groups, the factor's presence, age and
// method, the decision and the statement that made it. Never a credential: the gate hands over
// the policy's context, which holds none. When the server keeps no access log it does nothing.
func logDecision(r *http.Request, ctx policy.Context, res policy.Result) {
	srv, _ := r.Context().Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server)
	extra, _ := r.Context().Value(caddyhttp.ExtraLogFieldsCtxKey).(*caddyhttp.ExtraLogFields)
	if srv == nil || srv.Logs == nil || extra == nil {
		return
	}
	authType := ctx.AuthType
	if authType == "" {
		authType = policy.AuthAnonymous
	}
	extra.Set(zap.String("mfa_auth_type", authType))
	if authType != policy.AuthAnonymous {
		extra.Set(zap.String("mfa_user", ctx.UserID))
		if len(ctx.Groups) > 0 {
			extra.Set(zap.Strings("mfa_groups", ctx.Groups))
		}
	}
	if authType != policy.AuthAnonymous && authType != policy.AuthAccessKey {
		extra.Set(zap.Bool("mfa_present", ctx.MFAPresent))
	}
	if !ctx.MFATime.IsZero() {
		extra.Set(zap.Int64("mfa_age", int64(ctx.Time.Sub(ctx.MFATime)/time.Second)))
		extra.Set(zap.String("mfa_method", ctx.MFAMethod))
		if ctx.MFAMethod == policy.MethodWebAuthn {
			extra.Set(zap.Bool("mfa_user_verified", ctx.MFAUserVerified))
			extra.Set(zap.Bool("mfa_backup_eligible", ctx.MFABackupEligible))
			extra.Set(zap.String("mfa_aaguid", ctx.MFAAaguid))
		}
	}
	extra.Set(zap.String("mfa_decision", res.Decision.String()))
	if res.By != nil {
		extra.Set(zap.String("mfa_policy", res.By.Source))
		extra.Set(zap.String("mfa_sid", res.By.Sid))
	}
}
