package site

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/web"
)

// The devices page and its forms: each runs the same operation as its API call, then shows the
// page again with what happened.

func (s *Site) pageDevices(w http.ResponseWriter, r *http.Request) {
	c, ok := s.pageCaller(w, r)
	if !ok {
		return
	}
	// A security key registered by the page's script lands here with ?added=its serial.
	s.showDevices(w, r, c, http.StatusOK, "", s.addedNotice(r, c, r.URL.Query().Get("added")))
}

func (s *Site) showDevices(w http.ResponseWriter, r *http.Request, c *auth.Caller, status int, problem, notice string) {
	s.showDevicesWith(w, r, c, status, func(p *page) { p.Error, p.Notice = problem, notice })
}

// showDevicesWith shows the devices page, marked by mark (a notice, an error) before it is drawn.
func (s *Site) showDevicesWith(w http.ResponseWriter, r *http.Request, c *auth.Caller, status int, mark func(*page)) {
	devices, err := s.ops.Devices.ForUser(r.Context(), c.User())
	if err != nil {
		s.pages.RenderStatus(w, r, http.StatusServiceUnavailable, "Try again", s.explain(err).Message)
		return
	}
	p := s.newPage(r, "MFA devices", c)
	p.Devices, p.Enrolling = devices, c.Claims.Enrolling
	names := map[string]bool{}
	for _, d := range devices {
		p.HasEnabled = p.HasEnabled || d.Enabled
		names[d.Name] = true
		if d.Type == factors.TypeSMS && !d.Enabled {
			p.PendingSMS = d.Serial
		}
	}
	p.SMSEnabled = s.ops.SMSAllowed(&c.Claims) == nil
	p.NeedsFactor = s.ops.AddDeviceProblem(c, devices) != nil // a fresh factor with a device the user has
	if p.HasEnabled {
		if p.RecoveryRemaining, err = s.ops.Recovery.Remaining(r.Context(), c.User()); err == nil {
			p.AccessKeys, err = s.ops.AccessKeys.ForUser(r.Context(), c.User())
		}
		if err != nil {
			s.pages.RenderStatus(w, r, http.StatusServiceUnavailable, "Try again", s.explain(err).Message)
			return
		}
	}
	if c.FromCookie {
		if p.SignIns, err = s.signInsOf(r, c); err == nil {
			p.Remembered, err = s.rememberedOf(r, c)
		}
		if err != nil {
			s.pages.RenderStatus(w, r, http.StatusServiceUnavailable, "Try again", s.explain(err).Message)
			return
		}
	}
	p.SuggestedName, p.SuggestedKeyName = unusedName(names, "phone"), unusedName(names, "key")
	mark(p)
	s.render(w, status, "devices", p)
}

// afterForm shows the devices page with the outcome of a form.
func (s *Site) afterForm(w http.ResponseWriter, r *http.Request, c *auth.Caller, err error, done string) {
	if err != nil {
		e := s.explain(err)
		web.SetRetryAfter(w, e)
		s.showDevices(w, r, c, web.Status(e.Code), e.Message, "")
		return
	}
	s.showDevices(w, r, c, http.StatusOK, "", done)
}

// unusedName suggests base, or base-2, base-3 ... when the user has a device called that.
func unusedName(taken map[string]bool, base string) string {
	name := base
	for i := 2; taken[name]; i++ {
		name = base + "-" + strconv.Itoa(i)
	}
	return name
}

func (s *Site) formCreateVirtual(w http.ResponseWriter, r *http.Request) {
	c, ok := s.formCaller(w, r)
	if !ok {
		return
	}
	name := web.PostValue(r, "name")
	created, err := s.newVirtual(r, c, name)
	if err != nil {
		s.failDeviceForm(w, r, c, err, deviceForm{fields: []string{"name"}, typed: map[string]string{"name": name},
			message: newDeviceMessage(s.explain(err), "name")})
		return
	}
	dev, err := s.ops.Devices.Get(r.Context(), created.Serial)
	if err != nil {
		s.afterForm(w, r, c, err, "")
		return
	}
	p := s.enrolPage(r, c, dev, created.Secret, created.OTPAuthURI, created.QRPNG)
	s.render(w, http.StatusOK, "enrol", p)
}

func (s *Site) formEnable(w http.ResponseWriter, r *http.Request) {
	c, ok := s.formCaller(w, r)
	if !ok {
		return
	}
	serial, enrolling := r.PathValue("serial"), c.Claims.Enrolling
	next, passed, err := s.enableDevice(w, r, c, serial, web.PostValue(r, "code1"), web.PostValue(r, "code2"))
	if err != nil && s.ops.IsSMSDevice(r.Context(), serial) {
		s.failDeviceForm(w, r, c, err, deviceForm{fields: []string{"smscode"},
			wrongCode: "That code didn't work. Type the latest code we texted to " + s.deviceName(r, c, serial, "your phone") + "."})
		return
	}
	if err != nil {
		s.showEnrolAgain(w, r, c, serial, err)
		return
	}
	c.Claims = next // the page drawn next carries the new session's CSRF token
	s.afterAdding(w, r, c, serial, enrolling, passed)
}

// showEnrolAgain shows the enrolment page once more after a mistyped pair, with the same QR
// code: the device is not enabled, so its seed still protects nothing.
func (s *Site) showEnrolAgain(w http.ResponseWriter, r *http.Request, c *auth.Caller, serial string, cause error) {
	dev, seed, err := s.ops.Devices.PendingSeed(r.Context(), c.User(), serial)
	if err != nil {
		s.afterForm(w, r, c, cause, "")
		return
	}
	defer clear(seed)
	key, err := dev.TOTP.Key(s.ops.Issuer, c.User(), seed)
	var qr string
	if err == nil {
		qr, err = web.QRPNG(key)
	}
	if err != nil {
		s.showDevices(w, r, c, http.StatusInternalServerError, s.explain(err).Message, "")
		return
	}
	e := s.explain(cause)
	web.SetRetryAfter(w, e)
	p := s.enrolPage(r, c, dev, key.Secret(), key.URL(), qr)
	p.failAt(plainly(e, "Those codes didn't work. Type the code “"+dev.Name+"” shows now, wait for it to change, then type the next one."), "code1", "code2")
	s.render(w, web.Status(e.Code), "enrol", p)
}

// enrolPage shows a new device's secret: QR code, a link for an app on this same phone, and
// the key in groups of four for typing.
func (s *Site) enrolPage(r *http.Request, c *auth.Caller, dev *factors.Device, secret, uri, qr string) *page {
	p := s.newPage(r, "Add a device", c)
	p.Device, p.Secret, p.URI, p.QRPNG = dev, secret, uri, qr
	p.SecretGroups = groupsOf(secret, 4)
	// The URI is the one this site built (otpauth://totp/...), so it may be a link.
	p.OTPAuthHref = template.URL(uri)
	p.Steps = 3
	return p
}

func (s *Site) formResync(w http.ResponseWriter, r *http.Request) {
	c, ok := s.formCaller(w, r)
	if !ok {
		return
	}
	serial := r.PathValue("serial")
	_, err := s.ops.Resync(r.Context(), c.User(), serial, web.PostValue(r, "code1"), web.PostValue(r, "code2"))
	if err != nil && s.ownDevice(r, c, serial) != nil {
		s.failDeviceForm(w, r, c, err, deviceForm{fields: []string{"resync1-" + serial, "resync2-" + serial}, open: serial,
			wrongCode: "Those codes didn't work. Type two codes in a row from " + s.deviceName(r, c, serial, "the device") + "."})
		return
	}
	s.afterForm(w, r, c, err, "The device is in step again.")
}

func (s *Site) formDeactivate(w http.ResponseWriter, r *http.Request) {
	c, ok := s.formCaller(w, r)
	if !ok {
		return
	}
	name := "this device"
	if d := s.ownDevice(r, c, r.PathValue("serial")); d != nil {
		name = "“" + d.Name + "”"
	}
	err := s.deactivateDevice(w, r, c, r.PathValue("serial"))
	s.afterForm(w, r, c, err, "The device is removed: "+name+" no longer signs you in. Your other sessions are signed out.")
}

func (s *Site) formHardware(w http.ResponseWriter, r *http.Request) {
	c, ok := s.formCaller(w, r)
	if !ok {
		return
	}
	serial, enrolling := web.PostValue(r, "serial"), c.Claims.Enrolling
	next, passed, err := s.enableDevice(w, r, c, serial, web.PostValue(r, "code1"), web.PostValue(r, "code2"))
	if err != nil {
		s.failDeviceForm(w, r, c, err, hardwareFailure(s.explain(err), serial))
		return
	}
	c.Claims = next
	s.afterAdding(w, r, c, serial, enrolling, passed)
}

func (s *Site) formCreateSMS(w http.ResponseWriter, r *http.Request) {
	c, ok := s.formCaller(w, r)
	if !ok {
		return
	}
	name, phone := web.PostValue(r, "name"), web.PostValue(r, "phone")
	_, err := s.ops.CreateSMS(r.Context(), c, name, phone)
	if err != nil {
		at := "phone"
		if factors.ValidateDeviceName(name) != nil || errors.Is(err, factors.ErrDeviceExists) {
			at = "smsname"
		}
		s.failDeviceForm(w, r, c, err, deviceForm{fields: []string{at}, typed: map[string]string{"smsname": name, "phone": phone},
			message: newDeviceMessage(s.explain(err), at)})
		return
	}
	s.afterForm(w, r, c, nil, "We sent a code to your phone: type it below.")
}
