package sim

import "github.com/caddy-mfa/caddy-mfa/policy"

// Outcome is how a route's policies decide a request, in the IAM simulator's terms: the
// simulator's answer and what a test case is checked against.
type Outcome struct {
	Decision          string   `json:"decision"`
	MatchedStatements []string `json:"matched_statements"`
	DecidedBy         string   `json:"decided_by,omitempty"`
	Remedy            string   `json:"remedy"`
	MaxAge            *int64   `json:"max_age,omitempty"`
}

// Decide evaluates every set (each gate on the route must allow) and reports the first
// refusal, or the allow. No set: no gate on the route, so the request is allowed.
func Decide(sets []*policy.Set, ctx *policy.Context) Outcome {
	out := Outcome{Decision: policy.Allowed.String(), MatchedStatements: []string{}, Remedy: policy.RemedyNone.String()}
	for _, s := range sets {
		for _, ref := range s.Matching(ctx) {
			out.MatchedStatements = append(out.MatchedStatements, ref.Sid)
		}
	}
	for _, s := range sets {
		res := s.Evaluate(ctx)
		if res.Decision == policy.Allowed {
			if out.DecidedBy == "" {
				out.DecidedBy = res.By.String()
			}
			continue
		}
		out.Decision, out.DecidedBy = res.Decision.String(), ""
		if res.By != nil {
			out.DecidedBy = res.By.String()
		}
		ch := s.Remedy(ctx)
		out.Remedy = ch.Remedy.String()
		if ch.MaxAge >= 0 {
			out.MaxAge = &ch.MaxAge
		}
		break
	}
	return out
}
