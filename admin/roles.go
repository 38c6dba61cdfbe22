package admin

import (
	"net/http"

	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/web"
)

// The declared roles, for operators (GET /mfa/roles).

type roleView struct {
	Name               string           `json:"name"`
	Description        string           `json:"description,omitempty"`
	MaxDurationSeconds int64            `json:"max_duration_seconds"`
	Trust              string           `json:"trust"`
	Policy             string           `json:"policy,omitempty"`
	TrustFindings      []policy.Finding `json:"trust_findings"`
}

// listRoles lists the roles of the running config, with what lint finds in their trust policies.
func (a *Admin) listRoles(w http.ResponseWriter, _ *http.Request) {
	out := []roleView{}
	for _, r := range a.ops.Roles.All() {
		v := roleView{Name: r.Name, Description: r.Description, MaxDurationSeconds: int64(r.MaxDuration.Seconds()),
			Trust: r.TrustFile, Policy: r.PolicyFile, TrustFindings: r.TrustFindings}
		if v.TrustFindings == nil {
			v.TrustFindings = []policy.Finding{}
		}
		out = append(out, v)
	}
	web.WriteJSON(w, http.StatusOK, out)
}
