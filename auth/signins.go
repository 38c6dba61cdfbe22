package auth

import (
	"context"
	"net/netip"

	"go.uber.org/zap"

	"github.com/caddy-mfa/caddy-mfa/session"
)

// A user's own sign-ins: where they are signed in, and ending one from another browser.

// Client is where a browser's request came from, as a sign-in's record keeps it.
type Client struct {
	Addr      netip.Addr
	UserAgent string
}

// address is the client's address as records keep it: "" when unknown.
func (c Client) address() string {
	if !c.Addr.IsValid() {
		return ""
	}
	return c.Addr.String()
}

// SeenSignIn records that the sign-in of claims was used from client (at sign-in, after a
// factor, and when its cookie is refreshed). A record that cannot be written is logged: the
// sign-in itself holds, and revocation does not depend on it.
func (s *Service) SeenSignIn(ctx context.Context, claims session.Claims, client Client) {
	if err := s.signIns.Seen(ctx, &claims, s.Cookies.SignInEnds(&claims), client.address(), client.UserAgent); err != nil {
		s.Log.Error("recording a sign-in", zap.String("user", claims.User), zap.Error(err))
	}
}

// SignIns are user's sign-ins that still hold, newest first.
func (s *Service) SignIns(ctx context.Context, user string) ([]*session.SignIn, error) {
	all, err := s.signIns.List(ctx, user)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, rec := range all {
		if !s.Revocations.Revoked(&session.Claims{User: rec.User, SignInID: rec.ID, Issued: rec.Issued}) {
			out = append(out, rec)
		}
	}
	return out, nil
}

// EndSignIn signs the caller out of one of their other sign-ins, on every node.
func (s *Service) EndSignIn(ctx context.Context, c *Caller, id session.SessionID) error {
	if err := fromBrowser(c); err != nil {
		return err
	}
	mine, err := s.SignIns(ctx, c.User())
	if err != nil {
		return err
	}
	for _, rec := range mine {
		if rec.ID == id {
			return s.endSignIn(ctx, rec)
		}
	}
	return NewError(CodeNoSuchEntity, "No such sign-in of yours (it may have ended already).")
}

// EndOtherSignIns signs the caller out everywhere but this browser: every other sign-in and
// every session token of the user, listed or not (a list trimmed to session.MaxSignIns must not
// hide one), on every node. It returns how many listed sign-ins ended and this browser's
// session, signed again after the revocation, for the caller to write.
func (s *Service) EndOtherSignIns(ctx context.Context, c *Caller) (int, session.Claims, error) {
	if err := fromBrowser(c); err != nil {
		return 0, session.Claims{}, err
	}
	mine, err := s.SignIns(ctx, c.User())
	if err != nil {
		return 0, session.Claims{}, err
	}
	if err := s.Revocations.RevokeUser(ctx, c.User()); err != nil {
		return 0, session.Claims{}, err
	}
	ended := 0
	for _, rec := range mine {
		if rec.ID == c.Claims.SignInID {
			continue
		}
		if err := s.signIns.Forget(ctx, rec.User, rec.ID); err != nil {
			return ended, session.Claims{}, err
		}
		ended++
	}
	s.audit("sessions_ended_elsewhere", zap.String("user", c.User()), zap.Int("listed", ended))
	return ended, s.AfterRevocation(c.Claims), nil
}

func (s *Service) endSignIn(ctx context.Context, rec *session.SignIn) error {
	if err := s.Revocations.RevokeSignIn(ctx, rec.ID, rec.Ends); err != nil {
		return err
	}
	s.audit("session_ended", zap.String("user", rec.User))
	return s.signIns.Forget(ctx, rec.User, rec.ID)
}
