package site

import (
	"net/http"
	"net/url"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/session"
	"github.com/caddy-mfa/caddy-mfa/web"
)

// The second-factor page: a code from an app, a token or a text, a recovery code, or a key.

// codeDevices are the user's enabled devices that take a typed code, the SMS ones among them,
// and whether the user has a security key.
func (s *Site) codeDevices(r *http.Request, user string) (typed, sms []*factors.Device, keys bool, err error) {
	all, err := s.ops.Devices.ForUser(r.Context(), user)
	for _, d := range all {
		keys = keys || (d.Enabled && d.Type == factors.TypeWebAuthn)
		if d.Enabled && (d.IsTOTP() || (d.Type == factors.TypeSMS && s.ops.SMS != nil)) {
			typed = append(typed, d)
		}
		if d.Enabled && d.Type == factors.TypeSMS && s.ops.SMS != nil {
			sms = append(sms, d)
		}
	}
	return typed, sms, keys, err
}

func (s *Site) pageVerify(w http.ResponseWriter, r *http.Request) {
	c, ok := s.pageCaller(w, r)
	if !ok {
		return
	}
	s.showVerify(w, r, c, http.StatusOK, func(*page) {})
}

// showVerify shows the verify page, marked by mark (a notice, an error) before it is drawn.
func (s *Site) showVerify(w http.ResponseWriter, r *http.Request, c *auth.Caller, status int, mark func(*page)) {
	devices, sms, keys, err := s.codeDevices(r, c.User())
	if err != nil {
		s.pages.RenderStatus(w, r, http.StatusServiceUnavailable, "Try again", s.explain(err).Message)
		return
	}
	keyOnly := web.FormValue(r, "need") == policy.MethodWebAuthn
	if keyOnly {
		devices, sms = nil, nil
	}
	if len(devices) == 0 && !keys && !keyOnly {
		http.Redirect(w, r, s.prefix+"/devices?return="+url.QueryEscape(web.SafeReturn(web.FormValue(r, "return"))), http.StatusFound)
		return
	}
	p := s.newPage(r, "Second factor", c)
	p.Devices, p.SMSDevices, p.Selected = devices, sms, web.PostValue(r, "serial")
	p.HasKeys, p.KeyOnly = keys, keyOnly
	if len(devices) == 1 {
		p.CodePrompt = "Enter the code " + codeSource(devices[0]) + "."
	}
	if !c.Claims.External {
		p.RememberFor = rememberFor(s.remember)
	}
	mark(p)
	s.render(w, status, "verify", p)
}

func (s *Site) formVerify(w http.ResponseWriter, r *http.Request) {
	c, ok := s.formCaller(w, r)
	if !ok {
		return
	}
	remember := formRemember(r)
	err := s.refuseRemember(remember)
	var next session.Claims
	if err == nil {
		next, err = s.passCode(w, r, c, web.PostValue(r, "serial"), web.PostValue(r, "code"))
	}
	if err != nil {
		e := s.explain(err)
		web.SetRetryAfter(w, e)
		recovery := web.PostValue(r, "via") == "recovery"
		s.showVerify(w, r, c, web.Status(e.Code), func(p *page) { p.failCode(e, recovery); p.RememberAsk = remember })
		return
	}
	if remember {
		s.rememberBrowser(w, r, next)
	}
	http.Redirect(w, r, web.SafeReturn(web.PostValue(r, "return")), http.StatusSeeOther)
}

func (s *Site) formSMSSend(w http.ResponseWriter, r *http.Request) {
	c, ok := s.formCaller(w, r)
	if !ok {
		return
	}
	if err := s.ops.SendSMS(r.Context(), c, web.PostValue(r, "serial")); err != nil {
		e := s.explain(err)
		web.SetRetryAfter(w, e)
		s.showVerify(w, r, c, web.Status(e.Code), func(p *page) { p.Error = e.Message })
		return
	}
	s.showVerify(w, r, c, http.StatusOK, func(p *page) { p.Notice = "Code sent. Type it below." })
}

// failCode marks the verify page's refused code: the recovery code, in its part kept open, or
// the code of the device it was typed for, named.
func (p *page) failCode(e *auth.Error, recovery bool) {
	switch {
	case recovery && !p.KeyOnly:
		p.RecoveryOpen = true
		p.failAt(plainly(e, "That recovery code is wrong or already used."), "recovery")
	case len(p.Devices) > 0:
		p.failAt(plainly(e, "That code didn't work. "+useCode(p.selectedDevice())), "code")
	default:
		p.Error = e.Message
	}
}

// selectedDevice is the device the code was typed for: the one chosen, or the first listed.
func (p *page) selectedDevice() *factors.Device {
	for _, d := range p.Devices {
		if d.Serial == p.Selected {
			return d
		}
	}
	return p.Devices[0]
}

// useCode says which code of the device to type, naming it.
func useCode(d *factors.Device) string {
	if d.Type == factors.TypeSMS {
		return "Use the latest code we texted to “" + d.Name + "”."
	}
	return "Use the current code from “" + d.Name + "”."
}

// codeSource says where a device's codes come from, naming it.
func codeSource(d *factors.Device) string {
	if d.Type == factors.TypeSMS {
		return "we texted to “" + d.Name + "”"
	}
	return "from “" + d.Name + "”"
}
