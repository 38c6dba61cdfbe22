package web

import (
	"time"

	"github.com/caddy-mfa/caddy-mfa/session"
)

// SignInView is one of a user's sign-ins as the site and admin APIs list it.
type SignInView struct {
	ID        string    `json:"id"`
	Created   time.Time `json:"created"`
	LastSeen  time.Time `json:"last_seen"`
	SourceIP  string    `json:"source_ip"`
	UserAgent string    `json:"user_agent"`
	Method    string    `json:"method"`
}

// ViewOfSignIn is rec as the APIs show it.
func ViewOfSignIn(rec *session.SignIn) SignInView {
	id, _ := rec.ID.MarshalText()
	return SignInView{ID: string(id), Created: rec.Created, LastSeen: rec.LastSeen, SourceIP: rec.SourceIP,
		UserAgent: rec.UserAgent, Method: rec.Method}
}
