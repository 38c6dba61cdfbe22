package auth

import (
	"time"

	"github.com/caddy-mfa/caddy-mfa/policy"
)

// How recent a factor must be for the calls that change how a user signs in.
const (
	// FreshMFA is for the calls that add a device or hand out long-term credentials (access
	// keys, recovery codes).
	FreshMFA = 15 * time.Minute
	// DeactivateWithin is for deactivating a device oneself (AWS's
	// AllowRemoveMfaOnlyIfRecentMfa: an hour).
	DeactivateWithin = time.Hour
)

// requireFactor refuses a caller who is not at a browser or whose factor is missing or older
// than base (or the route's tighter max_age); refusal words the answer for that window.
func (s *Service) requireFactor(c *Caller, base time.Duration, refusal func(window string) string) error {
	if err := fromBrowser(c); err != nil {
		return err
	}
	within := c.Within(base)
	if !c.Claims.MFAPresent() || s.Now().Sub(c.Claims.MFATime) > within {
		return NewError(CodeMFARequired, refusal(span(within)))
	}
	if c.Claims.Method == policy.MethodRemembered {
		// A remembered browser stands for a factor passed on another day: letting it mint
		// recovery codes or keys, or remove a device, would carry that trust past its end.
		return NewError(CodeMFARequired, refusal(span(within))+" A remembered browser does not count here: pass a factor with one of your devices.")
	}
	return nil
}

// freshFactor refuses callers whose factor is missing or older than FreshMFA.
func (s *Service) freshFactor(c *Caller) error {
	return s.requireFactor(c, FreshMFA, func(window string) string {
		return "Pass a factor first (within the last " + window + ")."
	})
}

// fromBrowser refuses access keys and session tokens on the calls that change how the user
// signs in (removing a device, recovery codes, access keys), as on enrolment: a stolen API
// credential must not remove a device (a password alone would then enrol the thief's), nor mint
// recovery codes or long-term keys that outlive it.
func fromBrowser(c *Caller) error {
	if !c.Browser() {
		return NewError(CodeAccessDenied, "This is done from a browser session: sign in with your password, pass a factor, and try again there.")
	}
	return nil
}
