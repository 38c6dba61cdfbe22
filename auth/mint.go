package auth

import (
	"time"

	"go.uber.org/zap"

	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/session"
)

// Token kinds: the kind label of caddy_mfa_tokens_issued_total, and of the audit events.
const (
	TokenKindSession = "session" // GetSessionToken
	TokenKindRole    = "role"    // AssumeRole
)

// Grant is what every token for an API consumer is minted with, beyond the caller's claims.
type Grant struct {
	// Audience is the site the token is for (a gate of another audience refuses it): the
	// handler's audience, else the minting request's host (web.Audience).
	Audience string
	// Policy is a session policy in JSON (at most policy.MaxSessionPolicyBytes without white
	// space); empty: none.
	Policy []byte
}

// scope checks the grant's session policy and puts the grant into claims.
func (g Grant) scope(claims *session.Claims) error {
	if g.Audience == "" {
		return NewError(CodeInvalidInput, "audience: a token needs the site it is for.")
	}
	claims.Audience = g.Audience
	if len(g.Policy) == 0 || string(g.Policy) == "null" {
		return nil
	}
	compact, _, err := policy.ParseSessionPolicy(g.Policy)
	if err != nil {
		return NewError(CodeValidationError, err.Error())
	}
	claims.SessionPolicy = compact
	return nil
}

// mintToken is the one place a token for an API consumer is made: GetSessionToken, AssumeRole
// and any later grant call it, so each token is bound to its audience, counted by kind and
// audited alike (with fields besides). claims carry the caller and the factor; mintToken sets
// the times.
func (s *Service) mintToken(claims *session.Claims, g Grant, kind string, lifetime time.Duration, fields ...zap.Field) (*SessionToken, error) {
	if err := g.scope(claims); err != nil {
		return nil, err
	}
	now := s.Now().UTC()
	claims.SessionID, claims.SignInID = session.NewSessionID(), session.NewSessionID()
	claims.Issued, claims.SignedIn, claims.Expires = now, now, now.Add(lifetime)
	tok, err := s.Ring.Sign(claims)
	if err != nil {
		return nil, err
	}
	s.metrics.TokenIssued(kind)
	event := "session_token_issued"
	fields = append(fields, zap.String("user", claims.User), zap.Bool("mfa", claims.MFAPresent()), zap.Duration("lifetime", lifetime),
		zap.String("audience", claims.Audience), zap.Bool("session_policy", claims.SessionPolicy != ""))
	if kind == TokenKindRole {
		event = "role_assumed"
		fields = append(fields, zap.String("role", claims.Role), zap.String("role_session_name", claims.RoleSessionName))
	}
	s.audit(event, fields...)
	return &SessionToken{Token: tok, Expires: claims.Expires, MFA: claims.MFAPresent(), Role: claims.Role, RoleSessionName: claims.RoleSessionName}, nil
}
