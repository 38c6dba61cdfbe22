package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/session"
)

// STS's own words, which API consumers' tooling already recognises.
const (
	msgSessionCredentials = "Cannot call GetSessionToken with session credentials"
	msgSerialNotYours     = "MultiFactorAuthentication failed, unable to validate MFA code. Please verify your MFA serial number is valid and associated with this user."
)

type sessionTokenRequest struct {
	Serial          string `json:"serial"`
	Code            string `json:"code"`
	DurationSeconds *int64 `json:"duration_seconds"`
}

type sessionTokenResponse struct {
	SessionToken     string    `json:"session_token"`
	TokenType        string    `json:"token_type"`
	Expiration       time.Time `json:"expiration"`
	MFAAuthenticated bool      `json:"mfa_authenticated"`
}

// apiSessionToken is STS GetSessionToken: a long-term access key, and optionally a device
// serial and code, buy a short-lived session token that carries the MFA state.
func (g *Gate) apiSessionToken(w http.ResponseWriter, r *http.Request) {
	c, err := g.identify(r)
	if err != nil {
		g.refuseCredential(w, err)
		return
	}
	switch c.AuthType {
	case policy.AuthAccessKey:
	case policy.AuthAnonymous:
		w.Header().Set("WWW-Authenticate", `Basic realm="caddy-mfa"`)
		writeError(w, apiErr(CodeAuthRequired, "Call GetSessionToken with an access key (HTTP Basic: access key id and secret)."))
		return
	default:
		writeError(w, apiErr(CodeAccessDenied, msgSessionCredentials))
		return
	}
	var req sessionTokenRequest
	if e := decodeJSON(w, r, &req); e != nil {
		writeError(w, e)
		return
	}
	resp, err := g.mintSessionToken(r, c, req)
	if err != nil {
		g.svc.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (g *Gate) mintSessionToken(r *http.Request, c *Caller, req sessionTokenRequest) (*sessionTokenResponse, error) {
	lt := g.svc.Tokens
	duration := lt.Default
	if req.DurationSeconds != nil {
		duration = time.Duration(*req.DurationSeconds) * time.Second
		if duration < lt.Min || duration > lt.Max {
			bound, word := lt.Min, "greater"
			if duration > lt.Max {
				bound, word = lt.Max, "less"
			}
			return nil, apiErr(CodeValidationError, fmt.Sprintf(
				"1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value %s than or equal to %d",
				*req.DurationSeconds, word, int64(bound/time.Second)))
		}
	}
	if req.Serial != "" && req.Code == "" {
		return nil, apiErr(CodeValidationError, "code is required with serial.")
	}
	now := g.svc.Now().UTC()
	claims := session.Claims{User: c.User(), Groups: c.Claims.Groups, SessionID: session.NewSessionID(),
		SignInID: session.NewSessionID(), Issued: now, SignedIn: now, Expires: now.Add(duration)}
	if req.Code != "" {
		dev, err := g.verifyForToken(r, c.User(), req.Serial, req.Code)
		if err != nil {
			return nil, err
		}
		claims.MFATime, claims.Method, claims.Serial = now, dev.Type, dev.Serial
	}
	tok, err := g.svc.Ring.Sign(&claims)
	if err != nil {
		return nil, err
	}
	g.svc.metrics().TokenIssued()
	g.svc.audit("session_token_issued", zap.String("user", claims.User), zap.Bool("mfa", claims.MFAPresent()),
		zap.Duration("lifetime", duration))
	return &sessionTokenResponse{SessionToken: tok, TokenType: "Bearer", Expiration: claims.Expires, MFAAuthenticated: claims.MFAPresent()}, nil
}

// verifyForToken checks the code of GetSessionToken with STS's answers: a serial that is not one
// of the caller's enabled TOTP devices, and a wrong or reused code, each have their message.
func (g *Gate) verifyForToken(r *http.Request, user, serial, code string) (*factors.Device, error) {
	if serial != "" {
		if err := factors.ValidateSerial(serial); err != nil {
			return nil, apiErr(CodeValidationError, err.Error())
		}
		d, err := g.svc.Devices.Get(r.Context(), serial)
		if errors.Is(err, factors.ErrNoSuchDevice) || (err == nil && (d.User != user || !d.Enabled || !d.IsTOTP())) {
			return nil, apiErr(CodeAccessDenied, msgSerialNotYours)
		}
		if err != nil {
			return nil, err
		}
	}
	dev, err := g.svc.verifyTOTP(r.Context(), user, serial, code)
	if errors.Is(err, factors.ErrInvalidCode) || errors.Is(err, factors.ErrCodeReplayed) {
		return nil, apiErr(CodeInvalidAuthCode, msgBadCode)
	}
	return dev, err
}

type accessKeyView struct {
	AccessKeyID string     `json:"access_key_id"`
	Created     time.Time  `json:"created"`
	Secret      string     `json:"secret_access_key,omitempty"`
	LastUsed    *time.Time `json:"last_used,omitempty"`
}

// freshFactor refuses callers whose factor is missing or older than FreshMFA.
func (g *Gate) freshFactor(c *Caller) error {
	if err := fromBrowser(c); err != nil {
		return err
	}
	if within := c.within(FreshMFA); !c.Claims.MFAPresent() || g.svc.Now().Sub(c.Claims.MFATime) > within {
		return apiErr(CodeMFARequired, "Pass a factor first (within the last "+span(within)+").")
	}
	return nil
}

// fromBrowser refuses access keys and session tokens on the calls that change how the user
// signs in (removing a device, recovery codes, access keys), as on enrolment: a stolen API
// credential must not remove a device (a password alone would then enrol the thief's), nor mint
// recovery codes or long-term keys that outlive it.
func fromBrowser(c *Caller) error {
	if !c.browser() {
		return apiErr(CodeAccessDenied, "This is done from a browser session: sign in with your password, pass a factor, and try again there.")
	}
	return nil
}

func (g *Gate) apiCreateAccessKey(w http.ResponseWriter, r *http.Request) {
	c, ok := g.signedIn(w, r, csrfHeader(r))
	if !ok {
		return
	}
	if c.AuthType == policy.AuthExternal {
		// An earlier handler's user signs in through that handler; here Authorization belongs
		// to it, and a key would only be good on other sites, where this name was never vouched for.
		writeError(w, apiErr(CodeAccessDenied, "Access keys are for users who sign in here; ask an operator for one."))
		return
	}
	if err := g.freshFactor(c); err != nil {
		g.svc.fail(w, err)
		return
	}
	nk, err := g.svc.createAccessKey(r.Context(), c.User())
	if err != nil {
		g.svc.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, accessKeyView{AccessKeyID: nk.Key.ID, Created: nk.Key.Created, Secret: nk.Secret})
}

func (g *Gate) apiListAccessKeys(w http.ResponseWriter, r *http.Request) {
	c, ok := g.signedIn(w, r, "")
	if !ok {
		return
	}
	keys, err := g.svc.AccessKeys.ForUser(r.Context(), c.User())
	if err != nil {
		g.svc.fail(w, err)
		return
	}
	out := make([]accessKeyView, 0, len(keys))
	for _, k := range keys {
		out = append(out, accessKeyView{AccessKeyID: k.ID, Created: k.Created})
	}
	writeJSON(w, http.StatusOK, out)
}

func (g *Gate) apiDeleteAccessKey(w http.ResponseWriter, r *http.Request) {
	c, ok := g.signedIn(w, r, csrfHeader(r))
	if !ok {
		return
	}
	if !c.Claims.MFAPresent() {
		writeError(w, apiErr(CodeMFARequired, "Pass a factor first."))
		return
	}
	k, err := g.svc.AccessKeys.Get(r.Context(), r.PathValue("id"))
	if err != nil || k.User != c.User() {
		writeError(w, apiErr(CodeNoSuchEntity, "No such access key of yours."))
		return
	}
	if err := g.svc.deleteAccessKey(r.Context(), k); err != nil {
		g.svc.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Deleted string `json:"deleted"`
	}{k.ID})
}
