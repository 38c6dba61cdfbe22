package sim

import "github.com/caddy-mfa/caddy-mfa/policy"

// Outcome is how a route's policies decide a request, in the IAM simulator's terms: the
// simulator's answer and what a test case is checked against.
type Outcome struct {
	Decision          string   `json:"decision"`
	MatchedStatements []string `json:"matched_statements"`
	DecidedBy         string   `json:"decided_by,omitempty"`
	// DecidingPolicy says which policy decided: "route", "session" (the token's session policy)
	// or "role" (the policy of the declared role named by role:Name).
	DecidingPolicy string `json:"deciding_policy"`
	Remedy         string `json:"remedy"`
	MaxAge         *int64 `json:"max_age,omitempty"`
}

// Decide evaluates every set (each gate on the route must allow) and reports the first
// refusal, or the allow. No set: no gate on the route, so the request is allowed.
func Decide(sets []*policy.Set, ctx *policy.Context) Outcome {
	return DecideScoped(sets, nil, nil, ctx)
}

// DecideScoped is Decide for a token that carries a session policy or a role's (nil: none):
// each route set together with them, as the gate evaluates it.
func DecideScoped(sets []*policy.Set, session, role *policy.Set, ctx *policy.Context) Outcome {
	out := Outcome{Decision: policy.Allowed.String(), MatchedStatements: []string{}, Remedy: policy.RemedyNone.String(),
		DecidingPolicy: policy.LayerRoute.String()}
	if len(sets) == 0 {
		return out // no gate on the route
	}
	layers := sets[:len(sets):len(sets)]
	for _, own := range []*policy.Set{session, role} {
		if own != nil {
			layers = append(layers, own)
		}
	}
	for _, s := range layers {
		for _, ref := range s.Matching(ctx) {
			out.MatchedStatements = append(out.MatchedStatements, ref.Sid)
		}
	}
	for _, s := range sets {
		v := policy.EvaluateScoped(s, ctx, session, role)
		if v.Decision == policy.Allowed {
			if out.DecidedBy == "" {
				out.DecidedBy = v.Result.By.String()
			}
			continue
		}
		out.Decision, out.DecidedBy, out.DecidingPolicy = v.Decision.String(), "", v.By.String()
		if v.Result.By != nil {
			out.DecidedBy = v.Result.By.String()
		}
		ch := policy.RemedyScoped(s, ctx, v)
		out.Remedy = ch.Remedy.String()
		if ch.MaxAge >= 0 {
			out.MaxAge = &ch.MaxAge
		}
		break
	}
	return out
}
