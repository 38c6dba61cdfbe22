package admin

import (
	"net/http"
	"time"

	"github.com/caddy-mfa/caddy-mfa/web"
)

// signInView is a user's sign-in as the operators' API lists it.
type signInView struct {
	ID        string    `json:"id"`
	Created   time.Time `json:"created"`
	LastSeen  time.Time `json:"last_seen"`
	SourceIP  string    `json:"source_ip"`
	UserAgent string    `json:"user_agent"`
	Method    string    `json:"method"`
}

// userSignIns lists where a user is signed in (revoke-sessions ends them all).
func (a *Admin) userSignIns(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("user")
	if _, err := a.ops.Users.Get(r.Context(), name); err != nil {
		a.fail(w, err)
		return
	}
	recs, err := a.ops.SignIns(r.Context(), name)
	if err != nil {
		a.fail(w, err)
		return
	}
	out := make([]signInView, 0, len(recs))
	for _, rec := range recs {
		id, _ := rec.ID.MarshalText()
		out = append(out, signInView{ID: string(id), Created: rec.Created, LastSeen: rec.LastSeen, SourceIP: rec.SourceIP,
			UserAgent: rec.UserAgent, Method: rec.Method})
	}
	web.WriteJSON(w, http.StatusOK, out)
}
