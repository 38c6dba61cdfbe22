// Package session issues and checks the credentials that carry a sign-in and its MFA state:
// signed session tokens (Bearer) and browser cookie sessions (gorilla/sessions), the key ring
// that signs both with rotation, and the revocation list every node keeps in memory.
//
// Checking a credential is on every request's path: it must need no storage round trip and
// must never log a token, a cookie or a key.
package session
