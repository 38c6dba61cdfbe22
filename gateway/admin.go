package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"
	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-mfa/caddy-mfa/identity"
	"github.com/caddy-mfa/caddy-mfa/policy"
)

// Admin serves the operators' API under /mfa/ on Caddy's admin endpoint (same trust as the rest
// of that endpoint: whoever reaches it runs the server).
type Admin struct {
	svc *Services
	// PoliciesFor returns the policies of the routes a request would reach, for the simulator
	// when it is given none; nil when the server cannot tell.
	PoliciesFor func(method, host, path string) ([]*policy.Set, error)
	// PasswordCost is the bcrypt cost of passwords set through the API.
	PasswordCost int
	mux          *http.ServeMux
}

// NewAdmin makes the operators' API.
func NewAdmin(svc *Services) *Admin {
	a := &Admin{svc: svc, PasswordCost: 14, mux: http.NewServeMux()}
	a.mux.HandleFunc("GET /mfa/users", a.listUsers)
	a.mux.HandleFunc("POST /mfa/users", a.createUser)
	a.mux.HandleFunc("DELETE /mfa/users/{user}", a.deleteUser)
	a.mux.HandleFunc("GET /mfa/users/{user}/devices", a.userDevices)
	a.mux.HandleFunc("POST /mfa/users/{user}/access-keys", a.createAccessKey)
	a.mux.HandleFunc("POST /mfa/users/{user}/revoke-sessions", a.revokeSessions)
	a.mux.HandleFunc("POST /mfa/policy/simulate", a.simulate)
	a.mux.HandleFunc("POST /mfa/policy/lint", a.lint)
	a.routeDevices()
	a.mux.HandleFunc("/mfa/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, apiErr(CodeNoSuchEntity, "No such admin endpoint: "+r.Method+" "+r.URL.Path))
	})
	return a
}

// ServeHTTP bounds the body (boundAdminBody) and routes the call.
func (a *Admin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if boundAdminBody(w, r) {
		a.mux.ServeHTTP(w, r)
	}
}

// pathUser returns the {user} of the path when that user exists, or answers NoSuchEntity.
func (a *Admin) pathUser(w http.ResponseWriter, r *http.Request) (string, bool) {
	name := r.PathValue("user")
	if _, err := a.svc.Users.Get(r.Context(), name); err != nil {
		a.svc.fail(w, err)
		return "", false
	}
	return name, true
}

type userView struct {
	Name            string    `json:"name"`
	Groups          []string  `json:"groups"`
	Created         time.Time `json:"created"`
	PasswordEnabled bool      `json:"password_enabled"`
	MFAActive       bool      `json:"mfa_active"`
	Devices         int       `json:"devices"`
	AccessKeys      int       `json:"access_keys"`
}

func (a *Admin) viewUser(r *http.Request, u *identity.User) (userView, error) {
	ds, err := a.svc.Devices.ForUser(r.Context(), u.Name)
	if err != nil {
		return userView{}, err
	}
	ks, err := a.svc.AccessKeys.ForUser(r.Context(), u.Name)
	if err != nil {
		return userView{}, err
	}
	v := userView{Name: u.Name, Groups: u.Groups, Created: u.Created, PasswordEnabled: u.PasswordHash != "",
		Devices: len(ds), AccessKeys: len(ks)}
	if v.Groups == nil {
		v.Groups = []string{}
	}
	for _, d := range ds {
		v.MFAActive = v.MFAActive || d.Enabled
	}
	return v, nil
}

func (a *Admin) listUsers(w http.ResponseWriter, r *http.Request) {
	users, err := a.svc.Users.List(r.Context())
	if err != nil {
		a.svc.fail(w, err)
		return
	}
	out := make([]userView, 0, len(users))
	for _, u := range users {
		v, err := a.viewUser(r, u)
		if err != nil {
			a.svc.fail(w, err)
			return
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, out)
}

type createUserRequest struct {
	Name     string   `json:"name"`
	Password string   `json:"password"`
	Groups   []string `json:"groups"`
}

func (a *Admin) createUser(w http.ResponseWriter, r *http.Request) {
	var req createUserRequest
	if e := decodeJSON(w, r, &req); e != nil {
		writeError(w, e)
		return
	}
	if err := identity.ValidateName(req.Name); err != nil {
		writeError(w, apiErr(CodeInvalidInput, err.Error()))
		return
	}
	for _, g := range req.Groups {
		if identity.ValidateName(g) != nil {
			writeError(w, apiErr(CodeInvalidInput, fmt.Sprintf("group %q: must be 1-64 characters of letters, digits and +=,.@_-", g)))
			return
		}
	}
	hash := ""
	if req.Password != "" {
		if len(req.Password) > 72 {
			writeError(w, apiErr(CodeInvalidInput, "password: at most 72 bytes (bcrypt's limit)"))
			return
		}
		h, err := bcrypt.GenerateFromPassword([]byte(req.Password), a.PasswordCost)
		if err != nil {
			a.svc.fail(w, err)
			return
		}
		hash = string(h)
	}
	u, err := a.svc.Users.Create(r.Context(), req.Name, hash, req.Groups)
	if err != nil {
		a.svc.fail(w, err)
		return
	}
	if err := a.svc.KeyIndex.Reload(r.Context()); err != nil {
		a.svc.fail(w, err)
		return
	}
	a.svc.audit("user_created", zap.String("user", u.Name))
	v, err := a.viewUser(r, u)
	if err != nil {
		a.svc.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, v)
}

// deleteUser refuses while the user has devices or access keys (IAM's DeleteConflict), unless
// force: then devices, keys and sessions go first, and the user record last, so a failure half
// way leaves a user who still exists and can be deleted again.
func (a *Admin) deleteUser(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name, ok := a.pathUser(w, r)
	if !ok {
		return
	}
	ds, err := a.svc.Devices.ForUser(ctx, name)
	if err != nil {
		a.svc.fail(w, err)
		return
	}
	ks, err := a.svc.AccessKeys.ForUser(ctx, name)
	if err != nil {
		a.svc.fail(w, err)
		return
	}
	if (len(ds) > 0 || len(ks) > 0) && r.URL.Query().Get("force") != "true" {
		writeError(w, apiErr(CodeDeleteConflict, fmt.Sprintf(
			"User %s has %d MFA devices and %d access keys; remove them first, or delete with ?force=true.", name, len(ds), len(ks))))
		return
	}
	err = func() error {
		if err := a.svc.Revocations.RevokeUser(ctx, name); err != nil {
			return err
		}
		for _, k := range ks {
			if err := a.svc.deleteAccessKey(ctx, k); err != nil {
				return err
			}
		}
		for _, d := range ds {
			if err := a.svc.Devices.Remove(ctx, d); err != nil {
				return err
			}
		}
		if err := a.svc.Users.Delete(ctx, name); err != nil {
			return err
		}
		return a.svc.KeyIndex.Reload(ctx)
	}()
	if err != nil {
		a.svc.fail(w, err)
		return
	}
	a.svc.audit("user_deleted", zap.String("user", name), zap.Int("devices", len(ds)), zap.Int("access_keys", len(ks)))
	writeJSON(w, http.StatusOK, struct {
		Deleted string `json:"deleted"`
	}{name})
}

func (a *Admin) userDevices(w http.ResponseWriter, r *http.Request) {
	name, ok := a.pathUser(w, r)
	if !ok {
		return
	}
	ds, err := a.svc.Devices.ForUser(r.Context(), name)
	if err != nil {
		a.svc.fail(w, err)
		return
	}
	out := make([]adminDeviceView, 0, len(ds))
	for _, d := range ds {
		out = append(out, adminDeviceView{User: d.User, deviceView: viewOf(d)})
	}
	writeJSON(w, http.StatusOK, out)
}

type adminDeviceView struct {
	User string `json:"user"`
	deviceView
}

func (a *Admin) createAccessKey(w http.ResponseWriter, r *http.Request) {
	name, ok := a.pathUser(w, r)
	if !ok {
		return
	}
	nk, err := a.svc.createAccessKey(r.Context(), name)
	if err != nil {
		a.svc.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, accessKeyView{AccessKeyID: nk.Key.ID, Created: nk.Key.Created, Secret: nk.Secret})
}

func (a *Admin) revokeSessions(w http.ResponseWriter, r *http.Request) {
	name, ok := a.pathUser(w, r)
	if !ok {
		return
	}
	if err := a.svc.Revocations.RevokeUser(r.Context(), name); err != nil {
		a.svc.fail(w, err)
		return
	}
	a.svc.audit("sessions_revoked", zap.String("user", name))
	writeJSON(w, http.StatusOK, struct {
		Revoked string `json:"revoked"`
	}{name})
}

type lintRequest struct {
	Policy json.RawMessage `json:"policy"`
}

func (a *Admin) lint(w http.ResponseWriter, r *http.Request) {
	var req lintRequest
	if e := decodeJSON(w, r, &req); e != nil {
		writeError(w, e)
		return
	}
	d, err := policy.ParseJSON("policy", req.Policy)
	if err != nil {
		writeError(w, apiErr(CodeInvalidInput, err.Error()))
		return
	}
	findings := policy.Lint(d)
	if findings == nil {
		findings = []policy.Finding{}
	}
	writeJSON(w, http.StatusOK, struct {
		Findings []policy.Finding `json:"findings"`
	}{findings})
}

// Interface guards
var _ http.Handler = (*Admin)(nil)
