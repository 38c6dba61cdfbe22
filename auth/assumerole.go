package auth

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/roles"
	"github.com/caddy-mfa/caddy-mfa/session"
)

// STS AssumeRole: a caller whom a role's trust policy admits buys a token of that role.

const (
	msgRoleChaining   = "Cannot call AssumeRole with role session credentials"
	msgDurationOver   = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
	msgAssumeRoleAnon = "Call AssumeRole with an access key, a session token or a browser session."
	msgNarrowedToken  = "Cannot call AssumeRole with a session token narrowed by a session policy"
)

// AssumeRoleRequest is what an AssumeRole caller asks for.
type AssumeRoleRequest struct {
	Role, SessionName string
	Serial, Code      string
	DurationSeconds   *int64 // nil: the role's default (roles.Role.DefaultDuration)
	Grant                    // the site the token is for, and an optional session policy
	// Request is the AssumeRole call as the trust policy sees it: its req:* keys (method, host,
	// path, source address, time); the caller's keys are filled in here.
	Request policy.Context
}

// AssumeRole is STS AssumeRole: the caller stays the user (user:Id, for audit), and the token
// gains role:Name and role:SessionName and is narrowed by the role's policy.
func (s *Service) AssumeRole(ctx context.Context, c *Caller, req AssumeRoleRequest) (*SessionToken, error) {
	if err := assumeRoleCaller(c); err != nil {
		return nil, err
	}
	role := s.Roles.Get(req.Role)
	if role == nil {
		return nil, s.roleDenied(c, req.Role) // as STS: no word on whether the role exists
	}
	lifetime, err := roleLifetime(role, s.Tokens.Min, req.DurationSeconds)
	if err != nil {
		return nil, err
	}
	name, err := sessionName(c, req.SessionName)
	if err != nil {
		return nil, err
	}
	if err := req.Grant.scope(&session.Claims{}); err != nil {
		return nil, err // a bad policy is refused before a code is spent on it
	}
	if req.Serial != "" && req.Code == "" {
		return nil, NewError(CodeValidationError, "code is required with serial.")
	}
	claims := session.Claims{User: c.User(), Groups: c.Claims.Groups, MFATime: c.Claims.MFATime, Method: c.Claims.Method,
		Serial: c.Claims.Serial, UserVerified: c.Claims.UserVerified, BackupEligible: c.Claims.BackupEligible, AAGUID: c.Claims.AAGUID}
	if req.Code != "" {
		dev, err := s.verifyForToken(ctx, c.User(), req.Serial, req.Code)
		if err != nil {
			return nil, err
		}
		claims.MFATime, claims.Method, claims.Serial = s.Now().UTC(), dev.Type, dev.Serial
		claims.UserVerified, claims.BackupEligible, claims.AAGUID = false, false, ""
	}
	if !s.trusts(role, c, &claims, req.Request) {
		return nil, s.roleDenied(c, role.Name)
	}
	claims.Role, claims.RoleSessionName = role.Name, name
	return s.mintToken(&claims, req.Grant, TokenKindRole, lifetime)
}

// assumeRoleCaller refuses callers who may not assume a role: anonymous ones, a user still
// enrolling, and a role token (roles do not chain).
func assumeRoleCaller(c *Caller) error {
	switch {
	case c.AuthType == policy.AuthAnonymous:
		return NewError(CodeAuthRequired, msgAssumeRoleAnon)
	case c.Claims.Role != "":
		return NewError(CodeAccessDenied, msgRoleChaining)
	case c.Claims.SessionPolicy != "":
		// The role token would not carry the narrowing: whoever holds a narrowed token could
		// shed it by assuming a role.
		return NewError(CodeAccessDenied, msgNarrowedToken)
	case c.Claims.Enrolling:
		return NewError(CodeAccessDenied, "Enable an MFA device first.")
	}
	return nil
}

// roleDenied audits a refused AssumeRole (no such role, or its trust policy said no: probing
// and failed escalations leave a trace) and answers with STS's refusal.
func (s *Service) roleDenied(c *Caller, role string) error {
	s.audit("role_denied", zap.String("user", c.User()), zap.String("role", role))
	return notAuthorized(c, role)
}

// notAuthorized is STS's refusal, word for word.
func notAuthorized(c *Caller, role string) error {
	return NewError(CodeAccessDenied, fmt.Sprintf("User: %s is not authorized to perform: sts:AssumeRole on resource: role %s", c.User(), role))
}

// trusts evaluates the role's trust policy over the caller as the new token would carry it:
// their identity and the factor (a code just passed, or the credential's own).
func (s *Service) trusts(role *roles.Role, c *Caller, claims *session.Claims, ctx policy.Context) bool {
	ctx.AuthType, ctx.UserID, ctx.Groups = c.AuthType, c.User(), c.Claims.Groups
	if c.AuthType == policy.AuthAccessKey && claims.MFAPresent() {
		ctx.AuthType = policy.AuthToken // a code passed with a long-term key: as GetSessionToken's token
	}
	ctx.MFAPresent, ctx.MFATime, ctx.MFAMethod = claims.MFAPresent(), claims.MFATime, claims.Method
	ctx.MFAUserVerified, ctx.MFABackupEligible, ctx.MFAAaguid = claims.UserVerified, claims.BackupEligible, claims.AAGUID
	if ctx.Time.IsZero() {
		ctx.Time = s.Now()
	}
	return role.Trust.Evaluate(&ctx).Decision == policy.Allowed
}

// roleLifetime is the lifetime asked for, within the gateway's minimum and the role's maximum,
// in STS's words.
func roleLifetime(role *roles.Role, minimum time.Duration, seconds *int64) (time.Duration, error) {
	if seconds == nil {
		return role.DefaultDuration(), nil
	}
	d := time.Duration(*seconds) * time.Second
	switch {
	case *seconds > int64(role.MaxDuration/time.Second):
		return 0, NewError(CodeValidationError, msgDurationOver)
	case d < minimum:
		return 0, NewError(CodeValidationError, fmt.Sprintf(
			"1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to %d",
			*seconds, int64(minimum/time.Second)))
	}
	return d, nil
}

// sessionName is the role session name asked for, or the user's name (clipped to STS's 64).
func sessionName(c *Caller, asked string) (string, error) {
	if asked == "" {
		return c.User()[:min(len(c.User()), 64)], nil
	}
	if !roles.ValidSessionName(asked) {
		return "", NewError(CodeValidationError, fmt.Sprintf(
			"1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]{2,64}", asked))
	}
	return asked, nil
}
