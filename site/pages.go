package site

import (
	"embed"
	"html/template"
	"net/http"
	"net/url"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/identity"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/web"
)

//go:embed templates
var templateFiles embed.FS

var pages = func() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range []string{"login", "verify", "devices", "enrol", "secrets", "device"} {
		out[name] = web.ParsePage(templateFiles, "templates/"+name+".html")
	}
	return out
}()

// page is what the site's templates get; the fields a page does not use stay empty.
type page struct {
	web.Page

	Username    string            // login
	Devices     []*factors.Device // verify, devices
	Enrolling   bool              // devices
	NeedsFactor bool              // devices, device
	Device      *factors.Device   // enrol
	Secret, URI string            // enrol
	QRPNG       string            // enrol (base64)

	SuggestedName     string                // devices
	HasEnabled        bool                  // devices
	RecoveryRemaining int                   // devices
	AccessKeys        []*identity.AccessKey // devices
	Secrets           []secretLine          // secrets
	SecretGroups      []string              // enrol: the secret in groups of four, for the eye
	OTPAuthHref       template.URL          // enrol: the otpauth:// URI, as a link the phone opens
	Steps             int                   // enrol: how many steps adding a device takes
	Download          template.URL          // secrets: a data: URL of the codes as a .txt
	DownloadName      string                // secrets
	CopyAll           string                // secrets: what "Copy all" copies
	SMSEnabled        bool                  // devices
	PendingSMS        string                // devices: an SMS device waiting for its code
	SMSDevices        []*factors.Device     // verify
	Selected          string                // verify
	HasKeys           bool                  // verify
	KeyOnly           bool                  // verify: only a security key will do
	SuggestedKeyName  string                // devices
	KeysUnusable      string                // devices, verify: why this site cannot use security keys
	SignIns           []signInView          // devices: where the user is signed in
	Passkeys          bool                  // login: offer signing in with a passkey alone
	RememberFor       string                // verify: how long "remember this browser" lasts; "": not offered
	Remembered        []rememberedView      // devices: the user's remembered browsers

	FieldError   string            // a failed form's message, shown beside its inputs (pages_fields.go)
	badFields    []string          // the ids of the inputs at fault; the first takes the focus
	Typed        map[string]string // devices: what the user typed in the failed form, by input id
	OpenSerial   string            // devices: the device whose Manage part holds the failed form
	RecoveryOpen bool              // verify: the recovery code form failed
	RememberAsk  bool              // verify: "remember this browser" was ticked on the failed form
	CodePrompt   string            // verify: where the code comes from, naming the one device
	Grant        *deviceGrantView  // device: the request a code stands for
	UserCode     string            // device: the code as typed
}

// newPage is a page for the caller (nil: nobody signed in).
func (s *Site) newPage(r *http.Request, title string, c *auth.Caller) *page {
	p := &page{Page: s.pages.NewPage(r, title)}
	if err := auth.KeysUnusable(s.relyingParty(r)); err != nil {
		p.KeysUnusable = auth.AsError(err).Message
	}
	if c != nil && c.AuthType != policy.AuthAnonymous {
		p.User, p.MFA = c.User(), c.Claims.MFAPresent()
		if c.FromCookie {
			p.CSRF, p.CanSignOut = s.ops.Cookies.CSRFToken(&c.Claims), !s.external
		}
	}
	return p
}

func (s *Site) render(w http.ResponseWriter, status int, name string, p *page) {
	s.pages.Render(w, status, pages[name], p)
}

// pageCaller returns the signed-in caller of a page, or sends the browser to sign in.
func (s *Site) pageCaller(w http.ResponseWriter, r *http.Request) (*auth.Caller, bool) {
	c, err := s.credentials.Identify(r)
	if err == nil && c.AuthType == policy.AuthExternal && !c.FromCookie {
		c, err = s.externalSession(w, r, c)
	}
	if err != nil || c.AuthType == policy.AuthAnonymous || c.AuthType == policy.AuthToken {
		if s.external {
			s.pages.RenderStatus(w, r, http.StatusUnauthorized, "Sign in first", "Sign in to the site, then come back.")
			return nil, false
		}
		http.Redirect(w, r, s.prefix+"/login?return="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
		return nil, false
	}
	return c, true
}

// formCaller is pageCaller for a form post, which must carry the session's CSRF token.
func (s *Site) formCaller(w http.ResponseWriter, r *http.Request) (*auth.Caller, bool) {
	c, ok := s.pageCaller(w, r)
	if !ok {
		return nil, false
	}
	if !s.ops.Cookies.CheckCSRF(&c.Claims, web.PostValue(r, "csrf_token")) {
		s.pages.RenderStatus(w, r, http.StatusForbidden, "Page expired", "The form was out of date. Go back, reload the page and try again.")
		return nil, false
	}
	return c, true
}

func (s *Site) pageLogin(w http.ResponseWriter, r *http.Request) {
	if s.external {
		http.Redirect(w, r, s.prefix+"/verify?return="+url.QueryEscape(web.SafeReturn(web.FormValue(r, "return"))), http.StatusFound)
		return
	}
	s.render(w, http.StatusOK, "login", s.loginPage(r))
}

// loginPage is the sign-in page, offering a passkey where this site can use one.
func (s *Site) loginPage(r *http.Request) *page {
	p := s.newPage(r, "Sign in", nil)
	p.Passkeys = s.ops.Passwordless() && p.KeysUnusable == ""
	return p
}

func (s *Site) formLogin(w http.ResponseWriter, r *http.Request) {
	if s.external {
		http.NotFound(w, r)
		return
	}
	name, password := web.PostValue(r, "username"), web.PostValue(r, "password")
	if name == "" || password == "" {
		p := s.loginPage(r)
		p.Username = name
		if name == "" {
			p.failAt("Type your user name.", "username")
		} else {
			p.failAt("Type your password.", "password")
		}
		s.render(w, http.StatusBadRequest, "login", p)
		return
	}
	c, _, err := s.signIn(r, name, password)
	if err == nil {
		err = s.writeSession(w, r, c)
	}
	if err != nil {
		e := s.explain(err)
		web.SetRetryAfter(w, e)
		p := s.loginPage(r)
		p.Username = name
		message := e.Message
		if message == auth.MsgBadCredentials {
			message = "That user name and password don't match. Check them and type your password again."
		}
		p.failAt(message, "password", "username")
		s.render(w, web.Status(e.Code), "login", p)
		return
	}
	target := web.SafeReturn(web.PostValue(r, "return"))
	if c.Enrolling {
		target = s.prefix + "/devices?return=" + url.QueryEscape(target)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func (s *Site) pageLogout(w http.ResponseWriter, r *http.Request) {
	c, err := s.credentials.Identify(r)
	p := s.newPage(r, "Sign out", c)
	if err != nil || c == nil || !c.FromCookie {
		p.Message, p.Link, p.LinkText = "You are signed out.", "/", "Home"
		s.pages.RenderStatusPage(w, http.StatusOK, &p.Page)
		return
	}
	p.Message, p.SignOutForm = "Sign out of "+s.ops.Issuer+" on this browser?", true
	s.pages.RenderStatusPage(w, http.StatusOK, &p.Page)
}

func (s *Site) formLogout(w http.ResponseWriter, r *http.Request) {
	c, ok := s.formCaller(w, r)
	if !ok {
		return
	}
	if err := s.logout(w, r, c); err != nil {
		e := s.explain(err)
		s.pages.RenderStatus(w, r, web.Status(e.Code), "Sign out failed", e.Message)
		return
	}
	p := s.newPage(r, "Signed out", nil)
	p.Message, p.Link, p.LinkText = "You are signed out.", s.prefix+"/login", "Sign in again"
	s.pages.RenderStatusPage(w, http.StatusOK, &p.Page)
}
