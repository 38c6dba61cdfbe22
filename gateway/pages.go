package gateway

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"net/url"
	"strconv"

	"go.uber.org/zap"

	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/identity"
	"github.com/caddy-mfa/caddy-mfa/policy"
)

//go:embed templates
var templateFiles embed.FS

var pages = func() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range []string{"login", "verify", "devices", "enrol", "status", "secrets"} {
		out[name] = template.Must(template.ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html"))
	}
	return out
}()

// page is what every template gets; the fields a page does not use stay empty.
type page struct {
	Title, Issuer, Prefix string
	User                  string
	MFA, CanSignOut       bool
	CSRF, Return          string
	Error, Notice         string

	Username    string            // login
	Devices     []*factors.Device // verify, devices
	Enrolling   bool              // devices
	NeedsFactor bool              // devices
	Device      *factors.Device   // enrol
	Secret, URI string            // enrol
	QRPNG       string            // enrol (base64)

	Message, Link, LinkText string                // status
	SignOutForm             bool                  // status
	SuggestedName           string                // devices
	HasEnabled              bool                  // devices
	RecoveryRemaining       int                   // devices
	AccessKeys              []*identity.AccessKey // devices
	Lines                   []string              // secrets
	SMSEnabled              bool                  // devices
	PendingSMS              string                // devices: an SMS device waiting for its code
	SMSDevices              []*factors.Device     // verify
	Selected                string                // verify
	HasKeys                 bool                  // verify
	KeyOnly                 bool                  // verify: only a security key will do
	SuggestedKeyName        string                // devices
}

func (g *Gate) newPage(r *http.Request, title string, c *Caller) *page {
	p := &page{Title: title, Issuer: g.svc.Issuer, Prefix: g.prefix, Return: safeReturn(formValue(r, "return"))}
	if c != nil && c.AuthType != policy.AuthAnonymous {
		p.User, p.MFA = c.User(), c.Claims.MFAPresent()
		if c.fromCookie {
			p.CSRF, p.CanSignOut = g.svc.Cookies.CSRFToken(&c.Claims), g.identity == nil
		}
	}
	return p
}

func (g *Gate) render(w http.ResponseWriter, status int, name string, p *page) {
	var buf bytes.Buffer
	if err := pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		g.svc.Log.Error("rendering page", zap.String("page", name), zap.Error(err))
		http.Error(w, "page error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (g *Gate) renderStatus(w http.ResponseWriter, r *http.Request, status int, title, message string) {
	p := g.newPage(r, title, nil)
	p.Message, p.Link, p.LinkText = message, "/", "Home"
	g.render(w, status, "status", p)
}

// pageCaller returns the signed-in caller of a page, or sends the browser to sign in.
func (g *Gate) pageCaller(w http.ResponseWriter, r *http.Request) (*Caller, bool) {
	c, err := g.identify(r)
	if err == nil && c.AuthType == policy.AuthExternal && !c.fromCookie {
		c, err = g.externalSession(w, r, c)
	}
	if err != nil || c.AuthType == policy.AuthAnonymous || c.AuthType == policy.AuthToken {
		if g.identity != nil {
			g.renderStatus(w, r, http.StatusUnauthorized, "Sign in first", "Sign in to the site, then come back.")
			return nil, false
		}
		http.Redirect(w, r, g.prefix+"/login?return="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
		return nil, false
	}
	return c, true
}

// formCaller is pageCaller for a form post, which must carry the session's CSRF token.
func (g *Gate) formCaller(w http.ResponseWriter, r *http.Request) (*Caller, bool) {
	c, ok := g.pageCaller(w, r)
	if !ok {
		return nil, false
	}
	if !g.svc.Cookies.CheckCSRF(&c.Claims, postValue(r, "csrf_token")) {
		g.renderStatus(w, r, http.StatusForbidden, "Page expired", "The form was out of date. Go back, reload the page and try again.")
		return nil, false
	}
	return c, true
}

// userMessage is what a page shows for an error: the API's message.
func userMessage(err error) string { return toAPIError(err).Message }

func (g *Gate) pageLogin(w http.ResponseWriter, r *http.Request) {
	if g.identity != nil {
		http.Redirect(w, r, g.prefix+"/verify?return="+url.QueryEscape(safeReturn(formValue(r, "return"))), http.StatusFound)
		return
	}
	g.render(w, http.StatusOK, "login", g.newPage(r, "Sign in", nil))
}

func (g *Gate) formLogin(w http.ResponseWriter, r *http.Request) {
	if g.identity != nil {
		http.NotFound(w, r)
		return
	}
	name, password := postValue(r, "username"), postValue(r, "password")
	if name == "" || password == "" {
		p := g.newPage(r, "Sign in", nil)
		p.Error, p.Username = "Type your user name and password.", name
		g.render(w, http.StatusBadRequest, "login", p)
		return
	}
	c, _, err := g.passwordSignIn(r, name, password)
	if err == nil {
		err = g.svc.Cookies.Write(w, r, c)
	}
	if err != nil {
		ae := toAPIError(err)
		setRetryAfter(w, ae)
		p := g.newPage(r, "Sign in", nil)
		p.Error, p.Username = ae.Message, name
		g.render(w, ae.Status(), "login", p)
		return
	}
	target := safeReturn(postValue(r, "return"))
	if c.Enrolling {
		target = g.prefix + "/devices?return=" + url.QueryEscape(target)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// codeDevices are the user's enabled devices that take a typed code, the SMS ones among them,
// and whether the user has a security key.
func (g *Gate) codeDevices(r *http.Request, user string) (typed, sms []*factors.Device, keys bool, err error) {
	all, err := g.svc.Devices.ForUser(r.Context(), user)
	for _, d := range all {
		keys = keys || (d.Enabled && d.Type == factors.TypeWebAuthn && g.svc.WebAuthn != nil)
		if d.Enabled && (d.IsTOTP() || (d.Type == factors.TypeSMS && g.svc.SMS != nil)) {
			typed = append(typed, d)
		}
		if d.Enabled && d.Type == factors.TypeSMS && g.svc.SMS != nil {
			sms = append(sms, d)
		}
	}
	return typed, sms, keys, err
}

func (g *Gate) pageVerify(w http.ResponseWriter, r *http.Request) {
	c, ok := g.pageCaller(w, r)
	if !ok {
		return
	}
	g.showVerify(w, r, c, http.StatusOK, "", "")
}

func (g *Gate) showVerify(w http.ResponseWriter, r *http.Request, c *Caller, status int, problem, notice string) {
	devices, sms, keys, err := g.codeDevices(r, c.User())
	if err != nil {
		g.renderStatus(w, r, http.StatusServiceUnavailable, "Try again", userMessage(err))
		return
	}
	keyOnly := formValue(r, "need") == policy.MethodWebAuthn
	if keyOnly {
		devices, sms = nil, nil
	}
	if len(devices) == 0 && !keys && !keyOnly {
		http.Redirect(w, r, g.prefix+"/devices?return="+url.QueryEscape(safeReturn(formValue(r, "return"))), http.StatusFound)
		return
	}
	p := g.newPage(r, "Second factor", c)
	p.Devices, p.SMSDevices, p.Error, p.Notice, p.Selected = devices, sms, problem, notice, postValue(r, "serial")
	p.HasKeys, p.KeyOnly = keys, keyOnly
	g.render(w, status, "verify", p)
}

func (g *Gate) formVerify(w http.ResponseWriter, r *http.Request) {
	c, ok := g.formCaller(w, r)
	if !ok {
		return
	}
	if _, err := g.passCode(w, r, c, postValue(r, "serial"), postValue(r, "code")); err != nil {
		ae := toAPIError(err)
		setRetryAfter(w, ae)
		g.showVerify(w, r, c, ae.Status(), ae.Message, "")
		return
	}
	http.Redirect(w, r, safeReturn(postValue(r, "return")), http.StatusSeeOther)
}

func (g *Gate) pageDevices(w http.ResponseWriter, r *http.Request) {
	c, ok := g.pageCaller(w, r)
	if !ok {
		return
	}
	g.showDevices(w, r, c, http.StatusOK, "", "")
}

func (g *Gate) showDevices(w http.ResponseWriter, r *http.Request, c *Caller, status int, problem, notice string) {
	devices, err := g.svc.Devices.ForUser(r.Context(), c.User())
	if err != nil {
		g.renderStatus(w, r, http.StatusServiceUnavailable, "Try again", userMessage(err))
		return
	}
	p := g.newPage(r, "MFA devices", c)
	p.Devices, p.Error, p.Notice, p.Enrolling = devices, problem, notice, c.Claims.Enrolling
	names := map[string]bool{}
	for _, d := range devices {
		p.HasEnabled = p.HasEnabled || d.Enabled
		names[d.Name] = true
		if d.Type == factors.TypeSMS && !d.Enabled {
			p.PendingSMS = d.Serial
		}
	}
	p.SMSEnabled = g.smsAllowed(&c.Claims) == nil
	p.NeedsFactor = g.svc.addDeviceProblem(c, devices) != nil // a fresh factor with a device the user has
	if p.HasEnabled {
		if p.RecoveryRemaining, err = g.svc.Recovery.Remaining(r.Context(), c.User()); err == nil {
			p.AccessKeys, err = g.svc.AccessKeys.ForUser(r.Context(), c.User())
		}
		if err != nil {
			g.renderStatus(w, r, http.StatusServiceUnavailable, "Try again", userMessage(err))
			return
		}
	}
	p.SuggestedName, p.SuggestedKeyName = unusedName(names, "phone"), unusedName(names, "key")
	g.render(w, status, "devices", p)
}

func (g *Gate) formCreateVirtual(w http.ResponseWriter, r *http.Request) {
	c, ok := g.formCaller(w, r)
	if !ok {
		return
	}
	created, err := g.newVirtual(r, c, postValue(r, "name"))
	if err != nil {
		g.showDevices(w, r, c, toAPIError(err).Status(), userMessage(err), "")
		return
	}
	dev, err := g.svc.Devices.Get(r.Context(), created.Serial)
	if err != nil {
		g.showDevices(w, r, c, toAPIError(err).Status(), userMessage(err), "")
		return
	}
	p := g.newPage(r, "Add a device", c)
	p.Device, p.Secret, p.URI, p.QRPNG = dev, created.Secret, created.OTPAuthURI, created.QRPNG
	g.render(w, http.StatusOK, "enrol", p)
}

func (g *Gate) formEnable(w http.ResponseWriter, r *http.Request) {
	c, ok := g.formCaller(w, r)
	if !ok {
		return
	}
	serial := r.PathValue("serial")
	if _, err := g.enableDevice(w, r, c, serial, postValue(r, "code1"), postValue(r, "code2")); err != nil {
		g.showEnrolAgain(w, r, c, serial, err)
		return
	}
	http.Redirect(w, r, safeReturn(postValue(r, "return")), http.StatusSeeOther)
}

// showEnrolAgain shows the enrolment page once more after a mistyped pair, with the same QR
// code: the device is not enabled, so its seed still protects nothing.
func (g *Gate) showEnrolAgain(w http.ResponseWriter, r *http.Request, c *Caller, serial string, cause error) {
	dev, seed, err := g.svc.Devices.PendingSeed(r.Context(), c.User(), serial)
	if err != nil {
		g.showDevices(w, r, c, toAPIError(cause).Status(), userMessage(cause), "")
		return
	}
	defer clear(seed)
	key, err := dev.TOTP.Key(g.svc.Issuer, c.User(), seed)
	if err != nil {
		g.showDevices(w, r, c, http.StatusInternalServerError, userMessage(err), "")
		return
	}
	qr, err := qrPNG(key)
	if err != nil {
		g.showDevices(w, r, c, http.StatusInternalServerError, userMessage(err), "")
		return
	}
	p := g.newPage(r, "Add a device", c)
	p.Device, p.Secret, p.URI, p.QRPNG, p.Error = dev, key.Secret(), key.URL(), qr, userMessage(cause)
	g.render(w, toAPIError(cause).Status(), "enrol", p)
}

func (g *Gate) pageLogout(w http.ResponseWriter, r *http.Request) {
	c, err := g.identify(r)
	p := g.newPage(r, "Sign out", c)
	if err != nil || c == nil || !c.fromCookie {
		p.Message, p.Link, p.LinkText = "You are signed out.", "/", "Home"
		g.render(w, http.StatusOK, "status", p)
		return
	}
	p.Message, p.SignOutForm = "Sign out of "+g.svc.Issuer+" on this browser?", true
	g.render(w, http.StatusOK, "status", p)
}

func (g *Gate) formLogout(w http.ResponseWriter, r *http.Request) {
	c, ok := g.formCaller(w, r)
	if !ok {
		return
	}
	if err := g.logout(w, r, c); err != nil {
		g.renderStatus(w, r, toAPIError(err).Status(), "Sign out failed", userMessage(err))
		return
	}
	p := g.newPage(r, "Signed out", nil)
	p.Message, p.Link, p.LinkText = "You are signed out.", g.prefix+"/login", "Sign in again"
	g.render(w, http.StatusOK, "status", p)
}

// unusedName suggests base, or base-2, base-3 ... when the user has a device called that.
func unusedName(taken map[string]bool, base string) string {
	name := base
	for i := 2; taken[name]; i++ {
		name = base + "-" + strconv.Itoa(i)
	}
	return name
}
