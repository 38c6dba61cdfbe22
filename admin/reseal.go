package admin

import (
	"net/http"

	"github.com/caddy-mfa/caddy-mfa/web"
)

// resealView is what POST /mfa/reseal answers: the counts, the records no key opened, and
// whether the store is resealed whole (then the keys after the first can go).
type resealView struct {
	Resealed   int      `json:"resealed"`
	Current    int      `json:"already_current"`
	Unopened   []string `json:"unopened"`
	Unreadable int      `json:"unreadable"`
	Complete   bool     `json:"complete"`
}

func (a *Admin) reseal(w http.ResponseWriter, r *http.Request) {
	rep, err := a.ops.Reseal(r.Context())
	if err != nil {
		a.fail(w, err)
		return
	}
	v := resealView{Resealed: rep.Resealed, Current: rep.Current, Unopened: rep.Unopened, Unreadable: rep.Unreadable, Complete: rep.KeyCheck}
	if v.Unopened == nil {
		v.Unopened = []string{}
	}
	web.WriteJSON(w, http.StatusOK, v)
}
