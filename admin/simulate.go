package admin

// The operators' policy simulator (POST /mfa/policy/simulate), in IAM's terms: the decision on
// a described request, the statements that matched, and what would help.

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/policy/sim"
	"github.com/caddy-mfa/caddy-mfa/web"
)

type simulateRequest struct {
	Policies []json.RawMessage          `json:"policies"`
	Request  sim.Request                `json:"request"`
	Context  map[string]json.RawMessage `json:"context"`
}

// simulate is IAM's policy simulator for the gateway: the decision on a described request, the
// statements that matched, and what would help.
func (a *Admin) simulate(w http.ResponseWriter, r *http.Request) {
	var req simulateRequest
	if e := web.DecodeJSON(w, r, &req); e != nil {
		web.WriteError(w, e)
		return
	}
	ctx, err := sim.NewContext(req.Request, req.Context, a.ops.Now())
	if err != nil {
		web.Refuse(w, auth.CodeInvalidInput, err.Error())
		return
	}
	var sets []*policy.Set
	if len(req.Policies) > 0 {
		docs := make([]*policy.Document, 0, len(req.Policies))
		for i, raw := range req.Policies {
			d, err := policy.ParseJSON(fmt.Sprintf("policies[%d]", i), raw)
			if err != nil {
				web.Refuse(w, auth.CodeInvalidInput, err.Error())
				return
			}
			docs = append(docs, d)
		}
		set, err := policy.Compile(docs...)
		if err != nil {
			web.Refuse(w, auth.CodeInvalidInput, err.Error())
			return
		}
		sets = []*policy.Set{set}
	} else {
		if a.PoliciesFor == nil {
			web.Refuse(w, auth.CodeInvalidInput, "policies: give one or more documents")
			return
		}
		if sets, err = a.PoliciesFor(ctx.Method, ctx.Host, ctx.Path); err != nil {
			web.Refuse(w, auth.CodeInvalidInput, err.Error())
			return
		}
	}
	web.WriteJSON(w, http.StatusOK, sim.Decide(sets, &ctx))
}
