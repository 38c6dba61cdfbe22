// Package policy is caddy-mfa's access policy language: IAM-shaped JSON documents whose
// conditions test the request context (mfa:Present, mfa:Age, user:Groups ...). It parses and
// validates documents, lints them for known traps, compiles the Caddyfile shortcuts to
// statements, and evaluates a request context with IAM's rules (an explicit Deny wins, then an
// Allow, else an implicit deny), working out whether a sign-in or a fresh factor would help.
// It also holds the one spelling of the names every package shares: the factor methods
// (Method*, Methods) and the auth types (Auth*, AuthTypes).
//
// Evaluation is on every request's path: it must not allocate beyond what variables need, and
// this package must never import another package of the project, nor Caddy.
package policy
