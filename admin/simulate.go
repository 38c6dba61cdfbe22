package admin

// The operators' policy simulator (POST /mfa/policy/simulate), in IAM's terms: the decision on
// a described request, the statements that matched, and what would help.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/policy/sim"
	"github.com/caddy-mfa/caddy-mfa/web"
)

type simulateRequest struct {
	Policies []json.RawMessage `json:"policies"`
	// SessionPolicy is the session policy of the simulated token (GetSessionToken's policy).
	SessionPolicy json.RawMessage            `json:"session_policy"`
	Request       sim.Request                `json:"request"`
	Context       map[string]json.RawMessage `json:"context"`
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
	var session *policy.Set
	if len(req.SessionPolicy) > 0 && string(req.SessionPolicy) != "null" {
		if _, session, err = policy.ParseSessionPolicy(req.SessionPolicy); err != nil {
			web.Refuse(w, auth.CodeInvalidInput, "session_"+err.Error())
			return
		}
	}
	sets, err := a.simulatedSets(req.Policies, &ctx)
	if err != nil {
		web.Refuse(w, auth.CodeInvalidInput, err.Error())
		return
	}
	var role *policy.Set
	if r := a.ops.Roles.Get(ctx.RoleName); r != nil {
		role = r.Policy // the declared role narrows its tokens, as at the gate
	}
	web.WriteJSON(w, http.StatusOK, sim.DecideScoped(sets, session, role, &ctx))
}

// simulatedSets are the policies the simulated request meets: the documents given, as one
// handler would combine them, or else the live config's for the request's route.
func (a *Admin) simulatedSets(policies []json.RawMessage, ctx *policy.Context) ([]*policy.Set, error) {
	if len(policies) == 0 {
		if a.PoliciesFor == nil {
			return nil, errors.New("policies: give one or more documents")
		}
		return a.PoliciesFor(ctx.Method, ctx.Host, ctx.Path)
	}
	docs := make([]*policy.Document, 0, len(policies))
	for i, raw := range policies {
		d, err := policy.ParseJSON(fmt.Sprintf("policies[%d]", i), raw)
		if err != nil {
			return nil, err
		}
		docs = append(docs, d)
	}
	set, err := policy.Compile(docs...)
	if err != nil {
		return nil, err
	}
	return []*policy.Set{set}, nil
}
