// Package web is what the three rooms that speak HTTP (gate, site, admin) share, beneath them:
// SPEC's error bodies and the one adapter from auth's errors to HTTP (errors.go), JSON and
// body limits (body.go), reading the caller's credential (credentials.go), the status page and
// the layout every page is drawn in (pages.go), safe return paths (returnpath.go), and a new
// virtual device's QR code (virtual.go).
//
// It holds no operation (those are auth's) and no route. It must never import Caddy, nor log
// or echo a password, code, secret, cookie or token.
package web
