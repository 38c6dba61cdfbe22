// Package site is the self-service part of caddy-mfa under the prefix: the JSON API (api.go,
// lifecycle.go, sms.go, webauthn.go, tokens.go) and the server-rendered pages (pages*.go, with
// html/template and embedded static files), every body bounded (bodylimit.go) and every state
// change from another site refused. Handlers decode, call one operation of auth, and encode;
// errors reach the caller through web's one adapter.
//
// It holds no operation of its own, must never import Caddy, and never log or echo a password,
// code, secret, cookie or token.
package site
