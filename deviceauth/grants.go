package deviceauth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/caddy-mfa/caddy-mfa/session"
	"github.com/caddy-mfa/caddy-mfa/store"
)

// The grant's timings. RFC 8628 leaves them to the server; these are what `gh auth login`
// and `aws sso login` users meet.
const (
	// Lifetime is how long a pair of codes waits for approval and redemption.
	Lifetime = 10 * time.Minute
	// Interval is how often a client may poll at first (RFC 8628's default).
	Interval = 5 * time.Second
	// SlowDownStep is what each slow_down adds to the client's interval (RFC 8628 section 3.5).
	SlowDownStep = 5 * time.Second
	// pollGrace forgives a poll that arrives this much early: network delays bunch requests
	// up, and a client that sleeps the interval should not be told to slow down for that.
	pollGrace = time.Second
)

// State is where a grant is in its life.
type State string

const (
	Pending  State = "pending"
	Approved State = "approved"
	Denied   State = "denied"
	Redeemed State = "redeemed" // the token was handed out; the device code is spent
)

// Grant is one device authorization, stored under its user code.
type Grant struct {
	UserCode   string        `json:"-"`
	SecretHash []byte        `json:"secret_hash"` // SHA-256 of the device code's secret
	ClientName string        `json:"client_name,omitempty"`
	Address    string        `json:"address,omitempty"`  // the requesting client's
	Audience   string        `json:"audience,omitempty"` // the site the token will be for
	Requested  time.Time     `json:"requested"`
	Expires    time.Time     `json:"expires"`
	Duration   time.Duration `json:"duration"` // the token's lifetime, as asked for and bounded
	Interval   time.Duration `json:"interval"`
	LastPoll   time.Time     `json:"last_poll,omitzero"`
	State      State         `json:"state"`
	// Approver is the browser session that approved or denied it; the token is minted from it.
	Approver *session.Claims `json:"approver,omitempty"`
	Decided  time.Time       `json:"decided,omitzero"`
}

// Request is what a client asks for; auth has checked and bounded it.
type Request struct {
	ClientName string
	Address    string
	Audience   string // the site asked, which alone may redeem the grant
	Duration   time.Duration
}

// Started is the answer to a client: the device code is its secret, shown only here.
type Started struct {
	DeviceCode string
	UserCode   string
	Expires    time.Time
	Interval   time.Duration
}

// Grants keeps the grants in the store.
type Grants struct {
	store store.Store
	now   func() time.Time
}

// New keeps grants in st, on the clock now.
func New(st store.Store, now func() time.Time) *Grants { return &Grants{store: st, now: now} }

func grantKey(userCode string) string { return store.Key("deviceauth", userCode) }

// startTries bounds the draws of a fresh user code; with 20^8 codes, a second is rare.
const startTries = 5

var errTaken = errors.New("user code taken")

// Start records a new pending grant under a user code no live grant has.
func (g *Grants) Start(ctx context.Context, req Request) (*Started, error) {
	now := g.now().UTC()
	for range startTries {
		userCode := newUserCode()
		deviceCode, hash := newDeviceCode(userCode)
		rec := &Grant{SecretHash: hash, ClientName: req.ClientName, Address: req.Address, Audience: req.Audience, Requested: now,
			Expires: now.Add(Lifetime), Duration: req.Duration, Interval: Interval, State: Pending}
		err := store.UpdateJSON(ctx, g.store, grantKey(userCode), func(old *Grant) (*Grant, error) {
			if old != nil && now.Before(old.Expires) {
				return nil, errTaken
			}
			return rec, nil
		})
		if errors.Is(err, errTaken) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("device authorization: %w", err)
		}
		return &Started{DeviceCode: deviceCode, UserCode: userCode, Expires: rec.Expires, Interval: Interval}, nil
	}
	return nil, fmt.Errorf("device authorization: no free user code after %d tries", startTries)
}

// Lookup is the live grant of a user code as typed (any case, dash and spaces optional): a
// grant past its expiry is ErrExpired, a code no grant has (or a mistyped one) ErrUnknown.
func (g *Grants) Lookup(ctx context.Context, typed string) (*Grant, error) {
	code, ok := NormalizeUserCode(typed)
	if !ok {
		return nil, ErrUnknown
	}
	rec, err := store.GetJSON[Grant](ctx, g.store, grantKey(code))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, ErrUnknown
	case err != nil:
		return nil, err
	case !g.now().Before(rec.Expires):
		return nil, ErrExpired
	}
	rec.UserCode = code
	return rec, nil
}

// Decide approves or denies a pending grant, once, in the name of approver (a browser
// session's claims, which the token will be minted from).
func (g *Grants) Decide(ctx context.Context, typed string, approve bool, approver session.Claims) (*Grant, error) {
	code, ok := NormalizeUserCode(typed)
	if !ok {
		return nil, ErrUnknown
	}
	now := g.now().UTC()
	var out Grant
	err := store.UpdateJSON(ctx, g.store, grantKey(code), func(rec *Grant) (*Grant, error) {
		switch {
		case rec == nil:
			return nil, ErrUnknown
		case !now.Before(rec.Expires):
			return nil, ErrExpired
		case rec.State != Pending:
			return nil, ErrDecided
		}
		next := *rec
		next.State, next.Approver, next.Decided = Denied, &approver, now
		if approve {
			next.State = Approved
		}
		out = next
		return &next, nil
	})
	if err != nil {
		return nil, err
	}
	out.UserCode = code
	return &out, nil
}
