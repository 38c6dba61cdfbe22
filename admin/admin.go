package admin

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/web"
)

// Admin serves the operators' API under /mfa/ on Caddy's admin endpoint (same trust as the rest
// of that endpoint: whoever reaches it runs the server).
type Admin struct {
	ops *auth.Service
	// PoliciesFor returns the policies of the routes a request would reach, for the simulator
	// when it is given none; nil when the server cannot tell.
	PoliciesFor func(method, host, path string) ([]*policy.Set, error)
	// Statements returns every statement of the running policies with the requests it decided,
	// and since when; nil when the server keeps no counts.
	Statements func() (since time.Time, stats []policy.StatementStat)
	mux        *http.ServeMux
}

// New makes the operators' API.
func New(ops *auth.Service) *Admin {
	a := &Admin{ops: ops, mux: http.NewServeMux()}
	a.mux.HandleFunc("GET /mfa/users", a.listUsers)
	a.mux.HandleFunc("POST /mfa/users", a.createUser)
	a.mux.HandleFunc("DELETE /mfa/users/{user}", a.deleteUser)
	a.mux.HandleFunc("GET /mfa/users/{user}/devices", a.userDevices)
	a.mux.HandleFunc("POST /mfa/users/{user}/access-keys", a.createAccessKey)
	a.mux.HandleFunc("POST /mfa/users/{user}/revoke-sessions", a.revokeSessions)
	a.mux.HandleFunc("GET /mfa/users/{user}/sessions", a.userSignIns)
	a.mux.HandleFunc("POST /mfa/policy/simulate", a.simulate)
	a.mux.HandleFunc("POST /mfa/policy/lint", a.lint)
	a.mux.HandleFunc("GET /mfa/policy/stats", a.policyStats)
	a.mux.HandleFunc("GET /mfa/roles", a.listRoles)
	a.mux.HandleFunc("POST /mfa/reseal", a.reseal)
	a.routeDevices()
	a.mux.HandleFunc("/mfa/", func(w http.ResponseWriter, r *http.Request) {
		web.Refuse(w, auth.CodeNoSuchEntity, "No such admin endpoint: "+r.Method+" "+r.URL.Path)
	})
	return a
}

// ServeHTTP bounds the body (boundBody) and routes the call.
func (a *Admin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if boundBody(w, r) {
		a.mux.ServeHTTP(w, r)
	}
}

// fail answers with err: the one adapter from an operation's error to SPEC's body.
func (a *Admin) fail(w http.ResponseWriter, err error) { web.Fail(w, a.ops.Log, err) }

type userView struct {
	Name            string    `json:"name"`
	Groups          []string  `json:"groups"`
	Created         time.Time `json:"created"`
	PasswordEnabled bool      `json:"password_enabled"`
	MFAActive       bool      `json:"mfa_active"`
	Devices         int       `json:"devices"`
	AccessKeys      int       `json:"access_keys"`
}

func viewOfUser(s auth.UserSummary) userView {
	u := s.User
	v := userView{Name: u.Name, Groups: u.Groups, Created: u.Created, PasswordEnabled: u.PasswordHash != "",
		MFAActive: s.MFAActive, Devices: s.Devices, AccessKeys: s.AccessKeys}
	if v.Groups == nil {
		v.Groups = []string{}
	}
	return v
}

func (a *Admin) listUsers(w http.ResponseWriter, r *http.Request) {
	users, err := a.ops.Users.List(r.Context())
	if err != nil {
		a.fail(w, err)
		return
	}
	out := make([]userView, 0, len(users))
	for _, u := range users {
		sum, err := a.ops.Summarize(r.Context(), u)
		if err != nil {
			a.fail(w, err)
			return
		}
		out = append(out, viewOfUser(sum))
	}
	web.WriteJSON(w, http.StatusOK, out)
}

type createUserRequest struct {
	Name     string   `json:"name"`
	Password string   `json:"password"`
	Groups   []string `json:"groups"`
}

func (a *Admin) createUser(w http.ResponseWriter, r *http.Request) {
	var req createUserRequest
	if e := web.DecodeJSON(w, r, &req); e != nil {
		web.WriteError(w, e)
		return
	}
	u, err := a.ops.CreateUser(r.Context(), req.Name, req.Password, req.Groups)
	if err != nil {
		a.fail(w, err)
		return
	}
	sum, err := a.ops.Summarize(r.Context(), u)
	if err != nil {
		a.fail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, viewOfUser(sum))
}

func (a *Admin) deleteUser(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("user")
	if err := a.ops.DeleteUser(r.Context(), name, r.URL.Query().Get("force") == "true"); err != nil {
		a.fail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, struct {
		Deleted string `json:"deleted"`
	}{name})
}

func (a *Admin) createAccessKey(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("user")
	if _, err := a.ops.Users.Get(r.Context(), name); err != nil {
		a.fail(w, err)
		return
	}
	nk, err := a.ops.CreateAccessKeyFor(r.Context(), name)
	if err != nil {
		a.fail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, struct {
		AccessKeyID string    `json:"access_key_id"`
		Created     time.Time `json:"created"`
		Secret      string    `json:"secret_access_key"`
	}{nk.Key.ID, nk.Key.Created, nk.Secret})
}

func (a *Admin) revokeSessions(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("user")
	if err := a.ops.RevokeSessions(r.Context(), name); err != nil {
		a.fail(w, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, struct {
		Revoked string `json:"revoked"`
	}{name})
}

type lintRequest struct {
	Policy json.RawMessage `json:"policy"`
	// Trust lints the document as a role's trust policy (policy.LintTrust).
	Trust bool `json:"trust"`
}

func (a *Admin) lint(w http.ResponseWriter, r *http.Request) {
	var req lintRequest
	if e := web.DecodeJSON(w, r, &req); e != nil {
		web.WriteError(w, e)
		return
	}
	d, err := policy.ParseJSON("policy", req.Policy)
	if err != nil {
		web.Refuse(w, auth.CodeInvalidInput, err.Error())
		return
	}
	findings := policy.Lint(d)
	if req.Trust {
		findings = policy.LintTrust(d)
	}
	if findings == nil {
		findings = []policy.Finding{}
	}
	web.WriteJSON(w, http.StatusOK, struct {
		Findings []policy.Finding `json:"findings"`
	}{findings})
}

// Interface guards
var _ http.Handler = (*Admin)(nil)
