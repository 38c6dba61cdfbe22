package factors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/caddy-mfa/caddy-mfa/store"
)

// Passwordless sign-in with a passkey: a discoverable credential answers a challenge that names
// no user, says whose it is (its user handle), and verifies its user (PIN or biometric), so one
// ceremony stands for the password and the factor. Anyone may begin one; its state waits in the
// store under its challenge, once, for CeremonyTimeout.

func passkeyKey(challenge string) string { return store.Key("webauthn", "passkey", challenge) }

// BeginPasskeyLogin starts a passwordless sign-in ({"publicKey": ...RequestOptions}, with no
// allowCredentials and user verification required).
func (w *WebAuthn) BeginPasskeyLogin(ctx context.Context, rp RelyingParty) (*protocol.CredentialAssertion, error) {
	wa, err := w.instance(rp)
	if err != nil {
		return nil, err
	}
	assertion, session, err := wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, fmt.Errorf("webauthn: %w", err)
	}
	rec := &ceremony{Session: *session, RP: rp, Expires: w.devices.now().Add(CeremonyTimeout)}
	return assertion, store.PutJSON(ctx, w.devices.store, passkeyKey(session.Challenge), rec)
}

// PasskeyAnswer is a browser's answer to a passkey sign-in, read but not yet verified.
type PasskeyAnswer struct {
	parsed *protocol.ParsedCredentialAssertionData
}

// ParsePasskeyAnswer reads the answer (PublicKeyCredential.toJSON()). Its user handle says whose
// passkey it claims to be, which nothing has verified yet.
func ParsePasskeyAnswer(body []byte) (*PasskeyAnswer, error) {
	parsed, err := protocol.ParseCredentialRequestResponseBody(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyRefused, keyProblem(err))
	}
	if len(parsed.Response.UserHandle) == 0 {
		return nil, fmt.Errorf("%w: the key gave no user handle (it is not a passkey)", ErrKeyRefused)
	}
	return &PasskeyAnswer{parsed: parsed}, nil
}

// UserHandle is the user handle the answer claims.
func (a *PasskeyAnswer) UserHandle() []byte { return a.parsed.Response.UserHandle }

// FinishPasskeyLogin verifies the answer as user's, whose handle it claimed: the ceremony it
// answers is taken (once), the authenticator must have verified the user, and the signature must
// verify with one of user's enabled keys. It returns the key, with its counter kept.
func (w *WebAuthn) FinishPasskeyLogin(ctx context.Context, a *PasskeyAnswer, user string, handle []byte) (*Device, error) {
	cer, err := w.takeAt(ctx, passkeyKey(a.parsed.Response.CollectedClientData.Challenge))
	if err != nil {
		return nil, err
	}
	if !a.parsed.Response.AuthenticatorData.Flags.HasUserVerified() {
		return nil, ErrUserNotVerified
	}
	u, err := w.keyUser(ctx, user, handle)
	if err != nil {
		return nil, err
	}
	wa, err := w.instance(cer.RP)
	if err != nil {
		return nil, err
	}
	owner := func(_, userHandle []byte) (webauthn.User, error) {
		if !bytes.Equal(userHandle, handle) {
			return nil, errors.New("another user's handle")
		}
		return u, nil
	}
	_, cred, err := wa.ValidatePasskeyLogin(owner, cer.Session, a.parsed)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyRefused, keyProblem(err))
	}
	return w.recordUse(ctx, user, u, cred, true)
}

// SweepPasskeyCeremonies removes the passkey ceremonies begun and never finished (anyone may
// begin one), and says how many it removed.
func (w *WebAuthn) SweepPasskeyCeremonies(ctx context.Context) (int, error) {
	keys, err := w.devices.store.List(ctx, store.Key("webauthn", "passkey")+"/")
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, k := range keys {
		c, err := store.GetJSON[ceremony](ctx, w.devices.store, k)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err == nil && !w.devices.now().After(c.Expires) {
			continue
		}
		if err := w.devices.store.Delete(ctx, k); err != nil {
			return removed, err
		}
		removed++
	}
	return removed, nil
}

// RunSweeper sweeps passkey ceremonies every sweepEvery poll intervals until ctx ends; the
// signature is that of the app's other background polls.
func (w *WebAuthn) RunSweeper(ctx context.Context, interval time.Duration, onError func(error)) {
	store.Poll(ctx, interval*sweepEvery, func(ctx context.Context) error {
		_, err := w.SweepPasskeyCeremonies(ctx)
		return err
	}, onError)
}
