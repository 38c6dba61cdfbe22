package admin

import (
	"net/http"

	"github.com/caddy-mfa/caddy-mfa/web"
)

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
	out := make([]web.SignInView, 0, len(recs))
	for _, rec := range recs {
		out = append(out, web.ViewOfSignIn(rec))
	}
	web.WriteJSON(w, http.StatusOK, out)
}
