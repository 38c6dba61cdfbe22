// Package deviceauth is the state of RFC 8628's device authorization grant: a client without a
// browser asks for a pair of codes, a signed-in user approves or denies the short one in a
// browser, and the client polls with the long one until it is answered. Each grant is one
// record in the store under its user code, so any node serves any step, and every change to it
// is one atomic Update: a grant is decided once and redeemed once, however many nodes and
// goroutines try at the same time.
//
// It keeps the approver's claims for auth to mint the token from; it must never mint a token,
// judge whether a factor is fresh, nor log or store a device code (only its SHA-256).
package deviceauth
