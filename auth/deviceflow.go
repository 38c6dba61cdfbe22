package auth

import (
	"context"
	"errors"
	"net/netip"
	"time"
	"unicode"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/caddy-mfa/caddy-mfa/deviceauth"
	"github.com/caddy-mfa/caddy-mfa/session"
)

// Command-line sign-in (RFC 8628's device authorization grant): a client asks for codes, the
// user approves in a browser with a fresh factor, and the client's poll is answered with a
// session token minted as GetSessionToken mints one, carrying the approver's factor.

// DeviceApprovalWithin is how recent the approver's factor must be: the token carries it.
const DeviceApprovalWithin = 5 * time.Minute

// maxClientName bounds the name a client gives itself, shown to the approver.
const maxClientName = 64

// DeviceRequest is what a command-line client asks for.
type DeviceRequest struct {
	ClientName      string
	DurationSeconds *int64 // nil: the default lifetime
	Address         netip.Addr
	Audience        string // the site asked: the token is for it, and only it may redeem the grant
}

// AuthorizeDevice starts a device authorization: anyone may (the site throttles per address).
func (s *Service) AuthorizeDevice(ctx context.Context, req DeviceRequest) (*deviceauth.Started, error) {
	if err := checkClientName(req.ClientName); err != nil {
		return nil, err
	}
	duration, err := s.tokenLifetime(req.DurationSeconds)
	if err != nil {
		return nil, err
	}
	st, err := s.DeviceGrants.Start(ctx, deviceauth.Request{ClientName: req.ClientName, Address: req.Address.String(),
		Audience: req.Audience, Duration: duration})
	if err != nil {
		return nil, err
	}
	s.audit("device_authorization_started", zap.String("address", req.Address.String()), zap.Duration("lifetime", duration))
	return st, nil
}

// checkClientName refuses a name the approver could be misled by: too long, or with control
// or invisible characters.
func checkClientName(name string) error {
	if len(name) > maxClientName || !utf8.ValidString(name) {
		return NewError(CodeValidationError, "client_name: at most 64 bytes of UTF-8.")
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return NewError(CodeValidationError, "client_name: only printable characters.")
		}
	}
	return nil
}

// PollDevice answers a client's poll: a *deviceauth.Error until the grant was approved, then
// once the session token. audience is the site that answers the poll: only the site the grant
// was asked at (the one its approver saw) redeems it, for a token of that site.
func (s *Service) PollDevice(ctx context.Context, deviceCode, audience string) (*SessionToken, error) {
	g, err := s.DeviceGrants.Poll(ctx, deviceCode)
	if err != nil {
		return nil, err
	}
	if g.Audience != audience {
		return nil, deviceauth.ErrUnknown // redeemed at another site: spent, and no token
	}
	a := g.Approver
	if s.Revocations.Revoked(a) {
		// The approving sign-in ended (or the user's sessions were revoked) after approving.
		return nil, deviceauth.ErrDenied
	}
	claims := session.Claims{User: a.User, Groups: a.Groups, MFATime: a.MFATime, Method: a.Method, Serial: a.Serial,
		UserVerified: a.UserVerified, BackupEligible: a.BackupEligible, AAGUID: a.AAGUID}
	return s.mintToken(&claims, Grant{Audience: audience}, TokenKindSession, g.Duration, zap.String("grant", "device"))
}

// DeviceGrant is the request a user code stands for, for the approver to see. Every look-up
// is counted toward the caller's lockout until the code proves to be one: user codes are
// short, and guessing them is guessing a factor.
func (s *Service) DeviceGrant(ctx context.Context, c *Caller, userCode string) (*deviceauth.Grant, error) {
	if err := deviceApprover(c); err != nil {
		return nil, err
	}
	return s.countedCode(ctx, c.User(), func() (*deviceauth.Grant, error) {
		return s.DeviceGrants.Lookup(ctx, userCode)
	})
}

// DecideDevice approves (with a factor from the last DeviceApprovalWithin) or denies the
// request of a user code, once.
func (s *Service) DecideDevice(ctx context.Context, c *Caller, userCode string, approve bool) (*deviceauth.Grant, error) {
	if err := deviceApprover(c); err != nil {
		return nil, err
	}
	if approve {
		if err := s.CanApproveDevice(c); err != nil {
			return nil, err
		}
	}
	approver := c.Claims
	approver.SessionID, approver.Browser = session.SessionID{}, false // it binds the cookie's CSRF token
	g, err := s.countedCode(ctx, c.User(), func() (*deviceauth.Grant, error) {
		return s.DeviceGrants.Decide(ctx, userCode, approve, approver)
	})
	if err != nil {
		return nil, err
	}
	event := "device_authorization_denied"
	if approve {
		event = "device_authorization_approved"
	}
	s.audit(event, zap.String("user", c.User()), zap.String("method", c.Claims.Method), zap.String("address", g.Address))
	return g, nil
}

// CanApproveDevice refuses a caller whose factor is not from the last DeviceApprovalWithin (or
// the route's tighter max_age), or is a remembered browser: the token carries the factor.
func (s *Service) CanApproveDevice(c *Caller) error {
	return s.requireFactor(c, DeviceApprovalWithin, func(window string) string {
		return "Pass a factor first (within the last " + window + "): the token will carry it."
	})
}

// deviceApprover refuses callers who may not approve: a person at a browser signed in here. An
// earlier handler's user has no session token here to hand out (as with access keys).
func deviceApprover(c *Caller) error {
	if err := fromBrowser(c); err != nil {
		return err
	}
	if c.Claims.External {
		return NewError(CodeAccessDenied, "Command-line sign-in is for users who sign in here.")
	}
	return nil
}

// countedCode runs step, one use of a user code, as an attempt of user's lockout: a code no
// grant has stays counted, any other answer gives the attempt back.
func (s *Service) countedCode(ctx context.Context, user string, step func() (*deviceauth.Grant, error)) (*deviceauth.Grant, error) {
	a, err := s.Lockout.Reserve(ctx, user)
	if err != nil {
		return nil, s.lockedOut(err)
	}
	g, err := step()
	if errors.Is(err, deviceauth.ErrUnknown) {
		s.audit("device_code_failed", zap.String("user", user))
		s.noteLock(user, a)
		return nil, NewError(CodeNoSuchEntity, "No such code: check it and type it again.")
	}
	if rerr := a.Release(ctx); rerr != nil {
		s.Log.Error("giving back a device code attempt", zap.String("user", user), zap.Error(rerr))
	}
	return g, deviceStepError(err)
}

// deviceStepError words the approver's refusals.
func deviceStepError(err error) error {
	switch {
	case errors.Is(err, deviceauth.ErrExpired):
		return NewError(CodeNoSuchEntity, "The code expired: start the sign-in again in your terminal.")
	case errors.Is(err, deviceauth.ErrDecided):
		return NewError(CodeInvalidInput, "This request was already approved or denied.")
	}
	return err
}
