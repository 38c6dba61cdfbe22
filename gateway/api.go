package gateway

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"net/http"
	"time"

	"github.com/pquerna/otp"

	"github.com/caddy-mfa/caddy-mfa/factors"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/session"
)

func csrfHeader(r *http.Request) string { return r.Header.Get("X-CSRF-Token") }

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type loginResponse struct {
	User               string `json:"user"`
	MFARequired        bool   `json:"mfa_required"`
	EnrollmentRequired bool   `json:"enrollment_required"`
	CSRFToken          string `json:"csrf_token"`
}

func (g *Gate) apiLogin(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if e := decodeJSON(w, r, &req); e != nil {
		writeError(w, e)
		return
	}
	if req.Username == "" || req.Password == "" {
		writeError(w, apiErr(CodeInvalidInput, "username and password are required."))
		return
	}
	c, hasDevice, err := g.passwordSignIn(r, req.Username, req.Password)
	if err != nil {
		g.svc.fail(w, err)
		return
	}
	if err := g.svc.Cookies.Write(w, r, c); err != nil {
		g.svc.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, loginResponse{
		User:               c.User,
		MFARequired:        hasDevice,
		EnrollmentRequired: c.Enrolling,
		CSRFToken:          g.svc.Cookies.CSRFToken(&c),
	})
}

type verifyRequest struct {
	Serial string `json:"serial"`
	Code   string `json:"code"`
}

type mfaState struct {
	Present bool   `json:"present"`
	Age     *int64 `json:"age,omitempty"`
	Method  string `json:"method,omitempty"`
	Serial  string `json:"serial,omitempty"`
}

func (g *Gate) mfaStateOf(c *Caller) mfaState {
	if !c.Claims.MFAPresent() {
		return mfaState{}
	}
	age := int64(g.svc.Now().Sub(c.Claims.MFATime) / time.Second)
	return mfaState{Present: true, Age: &age, Method: c.Claims.Method, Serial: c.Claims.Serial}
}

func (g *Gate) apiVerify(w http.ResponseWriter, r *http.Request) {
	c, req, ok := signedInJSON[verifyRequest](g, w, r)
	if !ok {
		return
	}
	next, err := g.passCode(w, r, c, req.Serial, req.Code)
	if err != nil {
		g.svc.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		User      string   `json:"user"`
		MFA       mfaState `json:"mfa"`
		CSRFToken string   `json:"csrf_token"`
	}{c.User(), g.mfaStateOf(&Caller{Claims: next}), g.svc.Cookies.CSRFToken(&next)})
}

// passCode checks a TOTP or recovery code for the caller's session and, when it passes,
// replaces the session cookie with one that carries the factor.
func (g *Gate) passCode(w http.ResponseWriter, r *http.Request, c *Caller, serial, code string) (session.Claims, error) {
	if !c.browser() {
		return session.Claims{}, apiErr(CodeAccessDenied, "Pass a factor from a browser session; API clients use "+g.prefix+"/api/session-token.")
	}
	if code == "" {
		return session.Claims{}, apiErr(CodeInvalidInput, "code is required.")
	}
	if g.isSMSDevice(r.Context(), serial) {
		dev, err := g.checkSMS(r.Context(), c, serial, code)
		if err != nil {
			return session.Claims{}, err
		}
		return g.startFactorSession(w, r, c, dev.Type, dev.Serial)
	}
	if factors.LooksLikeRecoveryCode(code) {
		if err := g.svc.useRecoveryCode(r.Context(), c.User(), code); err != nil {
			return session.Claims{}, err
		}
		return g.startFactorSession(w, r, c, policy.MethodRecovery, "")
	}
	if serial != "" {
		if err := factors.ValidateSerial(serial); err != nil {
			return session.Claims{}, err
		}
	}
	dev, err := g.svc.verifyTOTP(r.Context(), c.User(), serial, code)
	if err != nil {
		return session.Claims{}, err
	}
	return g.startFactorSession(w, r, c, dev.Type, dev.Serial)
}

// startFactorSession writes the session that follows a passed factor.
func (g *Gate) startFactorSession(w http.ResponseWriter, r *http.Request, c *Caller, method, serial string) (session.Claims, error) {
	base := c.Claims
	if !c.fromCookie { // external identity, first factor here
		base = g.svc.Cookies.Start(c.User())
		base.External = true
		if u, err := g.svc.Users.EnsureExternal(r.Context(), c.User()); err == nil {
			base.Groups = u.Groups
		}
	}
	next := g.svc.withFactor(base, method, serial)
	return next, g.svc.Cookies.Write(w, r, next)
}

type deviceView struct {
	Serial     string     `json:"serial"`
	Type       string     `json:"type"`
	Name       string     `json:"name"`
	Enabled    bool       `json:"enabled"`
	EnableDate *time.Time `json:"enable_date"`
	LastUsed   *time.Time `json:"last_used"`
}

func viewOf(d *factors.Device) deviceView {
	v := deviceView{Serial: d.Serial, Type: d.Type, Name: d.Name, Enabled: d.Enabled}
	if !d.EnableDate.IsZero() {
		v.EnableDate = &d.EnableDate
	}
	if !d.LastUsed.IsZero() {
		v.LastUsed = &d.LastUsed
	}
	return v
}

func (g *Gate) apiListDevices(w http.ResponseWriter, r *http.Request) {
	c, ok := g.signedIn(w, r, "")
	if !ok {
		return
	}
	ds, err := g.svc.Devices.ForUser(r.Context(), c.User())
	if err != nil {
		g.svc.fail(w, err)
		return
	}
	out := make([]deviceView, 0, len(ds))
	for _, d := range ds {
		out = append(out, viewOf(d))
	}
	writeJSON(w, http.StatusOK, out)
}

type createVirtualRequest struct {
	Name string `json:"name"`
}

type createVirtualResponse struct {
	Serial     string `json:"serial"`
	Secret     string `json:"secret"`
	OTPAuthURI string `json:"otpauth_uri"`
	QRPNG      string `json:"qr_png"` // base64 PNG
}

// newVirtual creates the device and renders what the user needs to load it into an app.
func (g *Gate) newVirtual(r *http.Request, c *Caller, name string) (*createVirtualResponse, error) {
	nv, err := g.svc.createVirtual(r.Context(), c, name)
	if err != nil {
		return nil, err
	}
	return virtualResponse(g.svc.Issuer, c.User(), nv)
}

// virtualResponse renders a new virtual device's seed for an authenticator app, and forgets it.
func virtualResponse(issuer, user string, nv *factors.NewVirtual) (*createVirtualResponse, error) {
	key, err := nv.Device.TOTP.Key(issuer, user, nv.Seed)
	clear(nv.Seed)
	if err != nil {
		return nil, err
	}
	qr, err := qrPNG(key)
	if err != nil {
		return nil, err
	}
	return &createVirtualResponse{Serial: nv.Device.Serial, Secret: key.Secret(), OTPAuthURI: key.URL(), QRPNG: qr}, nil
}

// qrPNG draws the key's otpauth URI as a QR code, base64 PNG.
func qrPNG(key *otp.Key) (string, error) {
	img, err := key.Image(256, 256)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

func (g *Gate) apiCreateVirtual(w http.ResponseWriter, r *http.Request) {
	c, req, ok := signedInJSON[createVirtualRequest](g, w, r)
	if !ok {
		return
	}
	resp, err := g.newVirtual(r, c, req.Name)
	if err != nil {
		g.svc.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

type twoCodes struct {
	Code1 string `json:"code1"`
	Code2 string `json:"code2"`
}

func (g *Gate) apiEnable(w http.ResponseWriter, r *http.Request) {
	c, req, ok := signedInJSON[twoCodes](g, w, r)
	if !ok {
		return
	}
	next, err := g.enableDevice(w, r, c, r.PathValue("serial"), req.Code1, req.Code2)
	if err != nil {
		g.svc.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Serial    string   `json:"serial"`
		Enabled   bool     `json:"enabled"`
		MFA       mfaState `json:"mfa"`
		CSRFToken string   `json:"csrf_token,omitempty"`
	}{r.PathValue("serial"), true, g.mfaStateOf(&Caller{Claims: next}), g.svc.Cookies.CSRFToken(&next)})
}

// enableDevice enables a device. The user's very first device passes a factor (the session
// now carries it); a later one leaves the session as it was.
func (g *Gate) enableDevice(w http.ResponseWriter, r *http.Request, c *Caller, serial, code1, code2 string) (session.Claims, error) {
	if err := factors.ValidateSerial(serial); err != nil {
		return session.Claims{}, err
	}
	ctx := r.Context()
	var dev *factors.Device
	var err error
	if g.isSMSDevice(ctx, serial) {
		dev, err = g.enableSMS(ctx, c, serial, code1) // an SMS device proves itself with the one code it was sent
	} else {
		dev, err = g.svc.enable(ctx, c, serial, code1, code2)
	}
	if err != nil {
		return session.Claims{}, err
	}
	first, err := g.svc.firstEnrolment(ctx, c, dev)
	if err != nil || !first {
		return c.Claims, err
	}
	return g.startFactorSession(w, r, c, dev.Type, dev.Serial)
}

type whoamiResponse struct {
	User      string   `json:"user"`
	Groups    []string `json:"groups"`
	AuthType  string   `json:"auth_type"`
	MFA       mfaState `json:"mfa"`
	CSRFToken string   `json:"csrf_token,omitempty"`
}

func (g *Gate) apiWhoami(w http.ResponseWriter, r *http.Request) {
	c, err := g.identify(r)
	if err != nil {
		g.refuseCredential(w, err)
		return
	}
	if c.AuthType == policy.AuthExternal && !c.fromCookie {
		// Behind an earlier handler's sign-in: start the cookie that carries this site's CSRF
		// token and, later, the factor.
		if c, err = g.externalSession(w, r, c); err != nil {
			g.svc.fail(w, err)
			return
		}
	}
	resp := whoamiResponse{User: c.User(), Groups: c.Claims.Groups, AuthType: c.AuthType, MFA: g.mfaStateOf(c)}
	if resp.Groups == nil {
		resp.Groups = []string{}
	}
	if c.fromCookie {
		resp.CSRFToken = g.svc.Cookies.CSRFToken(&c.Claims)
	}
	writeJSON(w, http.StatusOK, resp)
}

// externalSession gives a user signed in by an earlier handler a session cookie of this site.
// It creates no record: that waits for enrolment.
func (g *Gate) externalSession(w http.ResponseWriter, r *http.Request, c *Caller) (*Caller, error) {
	claims := g.svc.Cookies.Start(c.User())
	claims.External = true
	u, err := g.svc.Users.LookupExternal(r.Context(), c.User())
	if err != nil {
		return nil, err
	}
	claims.Groups = u.Groups
	if err := g.svc.Cookies.Write(w, r, claims); err != nil {
		return nil, err
	}
	return &Caller{AuthType: policy.AuthExternal, Claims: claims, fromCookie: true, routeMaxAge: c.routeMaxAge}, nil
}

func (g *Gate) apiLogout(w http.ResponseWriter, r *http.Request) {
	c, ok := g.signedIn(w, r, csrfHeader(r))
	if !ok {
		return
	}
	if err := g.logout(w, r, c); err != nil {
		g.svc.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		SignedOut bool `json:"signed_out"`
	}{true})
}

func (g *Gate) logout(w http.ResponseWriter, r *http.Request, c *Caller) error {
	if !c.fromCookie {
		return apiErr(CodeInvalidInput, "Only browser sessions sign out; session tokens expire.")
	}
	g.svc.Cookies.Clear(w, r)
	return g.svc.signOut(r.Context(), &c.Claims)
}
