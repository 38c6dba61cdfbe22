package gateway

import (
	"net/http"
)

// The devices page's forms: each runs the same operation as its API call, then shows the page
// again with what happened.

func (g *Gate) formResync(w http.ResponseWriter, r *http.Request) {
	c, ok := g.formCaller(w, r)
	if !ok {
		return
	}
	_, err := g.resyncDevice(r, c, r.PathValue("serial"), postValue(r, "code1"), postValue(r, "code2"))
	g.afterForm(w, r, c, err, "The device is in step again.")
}

func (g *Gate) formDeactivate(w http.ResponseWriter, r *http.Request) {
	c, ok := g.formCaller(w, r)
	if !ok {
		return
	}
	err := g.deactivateDevice(w, r, c, r.PathValue("serial"))
	g.afterForm(w, r, c, err, "The device is removed. Your other sessions are signed out.")
}

func (g *Gate) formHardware(w http.ResponseWriter, r *http.Request) {
	c, ok := g.formCaller(w, r)
	if !ok {
		return
	}
	if _, err := g.enableDevice(w, r, c, postValue(r, "serial"), postValue(r, "code1"), postValue(r, "code2")); err != nil {
		g.afterForm(w, r, c, err, "")
		return
	}
	http.Redirect(w, r, safeReturn(postValue(r, "return")), http.StatusSeeOther)
}

func (g *Gate) formRecoveryCodes(w http.ResponseWriter, r *http.Request) {
	c, ok := g.formCaller(w, r)
	if !ok {
		return
	}
	codes, err := g.newRecoveryCodes(r, c)
	if err != nil {
		g.afterForm(w, r, c, err, "")
		return
	}
	p := g.newPage(r, "Your recovery codes", c)
	p.Message, p.Lines = "Each code signs you in once when you cannot use your devices. Your old codes no longer work.", codes
	g.render(w, http.StatusOK, "secrets", p)
}

func (g *Gate) formCreateAccessKey(w http.ResponseWriter, r *http.Request) {
	c, ok := g.formCaller(w, r)
	if !ok {
		return
	}
	if err := g.freshFactor(c); err != nil {
		g.afterForm(w, r, c, err, "")
		return
	}
	nk, err := g.svc.createAccessKey(r.Context(), c.User())
	if err != nil {
		g.afterForm(w, r, c, err, "")
		return
	}
	p := g.newPage(r, "Your new access key", c)
	p.Message = "Use it as HTTP Basic credentials (access key id, then secret), or with caddy mfa get-session-token."
	p.Lines = []string{"Access key id: " + nk.Key.ID, "Secret access key: " + nk.Secret}
	g.render(w, http.StatusOK, "secrets", p)
}

func (g *Gate) formDeleteAccessKey(w http.ResponseWriter, r *http.Request) {
	c, ok := g.formCaller(w, r)
	if !ok {
		return
	}
	k, err := g.svc.AccessKeys.Get(r.Context(), r.PathValue("id"))
	if err == nil && k.User != c.User() {
		err = apiErr(CodeNoSuchEntity, "No such access key of yours.")
	}
	if err == nil {
		err = g.svc.deleteAccessKey(r.Context(), k)
	}
	g.afterForm(w, r, c, err, "The access key is deleted.")
}

// afterForm shows the devices page with the outcome of a form.
func (g *Gate) afterForm(w http.ResponseWriter, r *http.Request, c *Caller, err error, done string) {
	if err != nil {
		ae := toAPIError(err)
		setRetryAfter(w, ae)
		g.showDevices(w, r, c, ae.Status(), ae.Message, "")
		return
	}
	g.showDevices(w, r, c, http.StatusOK, "", done)
}

func (g *Gate) formCreateSMS(w http.ResponseWriter, r *http.Request) {
	c, ok := g.formCaller(w, r)
	if !ok {
		return
	}
	_, err := g.createSMS(r.Context(), c, postValue(r, "name"), postValue(r, "phone"))
	g.afterForm(w, r, c, err, "We sent a code to your phone: type it below.")
}

func (g *Gate) formSMSSend(w http.ResponseWriter, r *http.Request) {
	c, ok := g.formCaller(w, r)
	if !ok {
		return
	}
	if err := g.sendSMS(r.Context(), c, postValue(r, "serial")); err != nil {
		ae := toAPIError(err)
		setRetryAfter(w, ae)
		g.showVerify(w, r, c, ae.Status(), ae.Message, "")
		return
	}
	g.showVerify(w, r, c, http.StatusOK, "", "Code sent. Type it below.")
}
