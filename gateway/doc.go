// Package gateway is caddy-mfa in plain net/http: the gate that every request passes
// (credential -> request context -> policy decision -> pass on or challenge), and the site the
// gateway serves under its prefix (sign-in, second factor, devices: JSON API and HTML pages).
//
// It must never import Caddy, so it can be tested with httptest and a fake clock and mounted in
// any server. It must never log or echo a password, code, secret, cookie or token.
package gateway
