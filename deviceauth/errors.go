package deviceauth

// Error is one of the answers RFC 8628 section 3.5 (and RFC 6749 section 5.2) gives a polling
// client, with a sentence for a person.
type Error struct {
	Code        string // the OAuth error code
	Description string
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

// The token endpoint's answers before a token, and the approver's.
var (
	ErrPending  = &Error{"authorization_pending", "The request waits for the user to approve it in a browser."}
	ErrSlowDown = &Error{"slow_down", "Polled faster than the interval; the interval grew by 5 seconds."}
	ErrDenied   = &Error{"access_denied", "The user denied the request."}
	ErrExpired  = &Error{"expired_token", "The codes expired; start again."}
	// ErrUnknown is a device or user code that no grant has (or a wrong device code for one).
	ErrUnknown = &Error{"invalid_grant", "No such code."}
	// ErrUsed is a device code whose token was already handed out.
	ErrUsed = &Error{"invalid_grant", "The code was already used."}
	// ErrDecided is an approval of a grant already approved or denied.
	ErrDecided = &Error{"invalid_grant", "The request was already approved or denied."}
	// ErrMalformed is a token request without a device code.
	ErrMalformed = &Error{"invalid_request", "device_code is required."}
)
