package site

import (
	"net/http"
	"time"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/session"
	"github.com/caddy-mfa/caddy-mfa/web"
)

// The JSON API of sign-in and second factors (SPEC section 5).

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type loginResponse struct {
	User               string `json:"user"`
	MFARequired        bool   `json:"mfa_required"`
	EnrollmentRequired bool   `json:"enrollment_required"`
	CSRFToken          string `json:"csrf_token"`
	// MFA is set when the sign-in carries a factor: a remembered browser's.
	MFA *mfaState `json:"mfa,omitempty"`
}

func (s *Site) apiLogin(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if e := web.DecodeJSON(w, r, &req); e != nil {
		web.WriteError(w, e)
		return
	}
	if req.Username == "" || req.Password == "" {
		web.Refuse(w, auth.CodeInvalidInput, "username and password are required.")
		return
	}
	c, hasDevice, err := s.signIn(r, req.Username, req.Password)
	if err == nil {
		err = s.writeSession(w, r, c)
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	resp := loginResponse{
		User:               c.User,
		MFARequired:        hasDevice && !c.MFAPresent(),
		EnrollmentRequired: c.Enrolling,
		CSRFToken:          s.ops.Cookies.CSRFToken(&c),
	}
	if c.MFAPresent() { // a remembered browser
		mfa := s.mfaStateOf(&c)
		resp.MFA = &mfa
	}
	web.WriteJSON(w, http.StatusOK, resp)
}

type verifyRequest struct {
	Serial string `json:"serial"`
	Code   string `json:"code"`
	// Remember asks the site to remember this browser (remember_device).
	Remember bool `json:"remember"`
}

type mfaState struct {
	Present bool   `json:"present"`
	Age     *int64 `json:"age,omitempty"`
	Method  string `json:"method,omitempty"`
	Serial  string `json:"serial,omitempty"`
	// What the security key of a webauthn factor showed (mfa:UserVerified, mfa:BackupEligible,
	// mfa:Aaguid); absent for other methods.
	UserVerified   *bool  `json:"user_verified,omitempty"`
	BackupEligible *bool  `json:"backup_eligible,omitempty"`
	Aaguid         string `json:"aaguid,omitempty"`
}

func (s *Site) mfaStateOf(c *session.Claims) mfaState {
	if !c.MFAPresent() {
		return mfaState{}
	}
	age := int64(s.ops.Now().Sub(c.MFATime) / time.Second)
	st := mfaState{Present: true, Age: &age, Method: c.Method, Serial: c.Serial}
	if c.Method == policy.MethodWebAuthn {
		uv, be := c.UserVerified, c.BackupEligible
		st.UserVerified, st.BackupEligible, st.Aaguid = &uv, &be, c.AAGUID
	}
	return st
}

// sessionState is what the API answers after a call that may have changed the session.
type sessionState struct {
	User      string   `json:"user,omitempty"`
	Serial    string   `json:"serial,omitempty"`
	Enabled   bool     `json:"enabled,omitempty"`
	MFA       mfaState `json:"mfa"`
	CSRFToken string   `json:"csrf_token,omitempty"`
	// Remembered says the browser got a remember cookie with this factor.
	Remembered bool `json:"remembered,omitempty"`
}

func (s *Site) apiVerify(w http.ResponseWriter, r *http.Request) {
	c, req, ok := signedInJSON[verifyRequest](s, w, r)
	if !ok {
		return
	}
	if err := s.refuseRemember(req.Remember); err != nil {
		s.fail(w, err)
		return
	}
	next, err := s.passCode(w, r, c, req.Serial, req.Code)
	if err != nil {
		s.fail(w, err)
		return
	}
	resp := sessionState{User: c.User(), MFA: s.mfaStateOf(&next), CSRFToken: s.ops.Cookies.CSRFToken(&next)}
	if req.Remember {
		resp.Remembered = s.rememberBrowser(w, r, next)
	}
	web.WriteJSON(w, http.StatusOK, resp)
}

// passCode checks a TOTP, SMS or recovery code for the caller's session and, when it passes,
// replaces the session cookie with one that carries the factor.
func (s *Site) passCode(w http.ResponseWriter, r *http.Request, c *auth.Caller, serial, code string) (session.Claims, error) {
	if !c.Browser() {
		return session.Claims{}, auth.NewError(auth.CodeAccessDenied, "Pass a factor from a browser session; API clients use "+s.prefix+"/api/session-token.")
	}
	next, err := s.ops.PassCode(r.Context(), c, serial, code)
	if err != nil {
		return session.Claims{}, err
	}
	return next, s.writeSession(w, r, next)
}

func (s *Site) apiListDevices(w http.ResponseWriter, r *http.Request) {
	c, ok := s.signedIn(w, r, "")
	if !ok {
		return
	}
	ds, err := s.ops.Devices.ForUser(r.Context(), c.User())
	if err != nil {
		s.fail(w, err)
		return
	}
	out := make([]web.DeviceView, 0, len(ds))
	for _, d := range ds {
		out = append(out, web.ViewOfDevice(d))
	}
	web.WriteJSON(w, http.StatusOK, out)
}

type createVirtualRequest struct {
	Name string `json:"name"`
}

// newVirtual creates the device and renders what the user needs to load it into an app.
func (s *Site) newVirtual(r *http.Request, c *auth.Caller, name string) (*web.VirtualDevice, error) {
	nv, err := s.ops.CreateVirtual(r.Context(), c, name)
	if err != nil {
		return nil, err
	}
	return web.NewVirtualDevice(s.ops.Issuer, c.User(), nv)
}

func (s *Site) apiCreateVirtual(w http.ResponseWriter, r *http.Request) {
	c, req, ok := signedInJSON[createVirtualRequest](s, w, r)
	if !ok {
		return
	}
	resp, err := s.newVirtual(r, c, req.Name)
	if err != nil {
		s.fail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, resp)
}

type twoCodes struct {
	Code1 string `json:"code1"`
	Code2 string `json:"code2"`
}

func (s *Site) apiEnable(w http.ResponseWriter, r *http.Request) {
	c, req, ok := signedInJSON[twoCodes](s, w, r)
	if !ok {
		return
	}
	next, _, err := s.enableDevice(w, r, c, r.PathValue("serial"), req.Code1, req.Code2)
	if err != nil {
		s.fail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, sessionState{Serial: r.PathValue("serial"), Enabled: true,
		MFA: s.mfaStateOf(&next), CSRFToken: s.ops.Cookies.CSRFToken(&next)})
}

// enableDevice enables a device. The user's very first device passes a factor (passed: the
// session now carries it); a later one leaves the session as it was.
func (s *Site) enableDevice(w http.ResponseWriter, r *http.Request, c *auth.Caller, serial, code1, code2 string) (next session.Claims, passed bool, err error) {
	next, passed, err = s.ops.EnableDevice(r.Context(), c, serial, code1, code2)
	if err != nil || !passed {
		return next, passed, err
	}
	return next, true, s.writeSession(w, r, next)
}

type whoamiResponse struct {
	User      string   `json:"user"`
	Groups    []string `json:"groups"`
	AuthType  string   `json:"auth_type"`
	MFA       mfaState `json:"mfa"`
	CSRFToken string   `json:"csrf_token,omitempty"`
	// Role is the role of a role token (AssumeRole), as STS's GetCallerIdentity names it.
	Role *roleState `json:"role,omitempty"`
}

type roleState struct {
	Name        string `json:"name"`
	SessionName string `json:"session_name"`
}

func (s *Site) apiWhoami(w http.ResponseWriter, r *http.Request) {
	c, err := s.credentials.Identify(r)
	if err != nil {
		web.RefuseCredential(w, r, err, web.LoginURL(r, s.prefix, s.external))
		return
	}
	if c.AuthType == policy.AuthExternal && !c.FromCookie {
		// Behind an earlier handler's sign-in: start the cookie that carries this site's CSRF
		// token and, later, the factor.
		if c, err = s.externalSession(w, r, c); err != nil {
			s.fail(w, err)
			return
		}
	}
	resp := whoamiResponse{User: c.User(), Groups: c.Claims.Groups, AuthType: c.AuthType, MFA: s.mfaStateOf(&c.Claims)}
	if resp.Groups == nil {
		resp.Groups = []string{}
	}
	if c.FromCookie {
		resp.CSRFToken = s.ops.Cookies.CSRFToken(&c.Claims)
	}
	if c.Claims.Role != "" {
		resp.Role = &roleState{Name: c.Claims.Role, SessionName: c.Claims.RoleSessionName}
	}
	web.WriteJSON(w, http.StatusOK, resp)
}

// externalSession gives a user signed in by an earlier handler a session cookie of this site.
func (s *Site) externalSession(w http.ResponseWriter, r *http.Request, c *auth.Caller) (*auth.Caller, error) {
	claims, err := s.ops.ExternalSession(r.Context(), c.User())
	if err != nil {
		return nil, err
	}
	if err := s.writeSession(w, r, claims); err != nil {
		return nil, err
	}
	return &auth.Caller{AuthType: policy.AuthExternal, Claims: claims, FromCookie: true, RouteMaxAge: c.RouteMaxAge}, nil
}

func (s *Site) apiLogout(w http.ResponseWriter, r *http.Request) {
	c, ok := s.signedIn(w, r, csrfHeader(r))
	if !ok {
		return
	}
	if err := s.logout(w, r, c); err != nil {
		s.fail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, struct {
		SignedOut bool `json:"signed_out"`
	}{true})
}

// logout ends the browser's session here and everywhere its sign-in reached.
func (s *Site) logout(w http.ResponseWriter, r *http.Request, c *auth.Caller) error {
	if c.FromCookie {
		s.ops.Cookies.Clear(w, r)
	}
	return s.ops.SignOut(r.Context(), c)
}
