package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// A session may carry policies of its own beside the route's: a session policy given to
// GetSessionToken or AssumeRole, and the policy of the role it was minted for. They only ever
// narrow what the route allows, as STS's session policies narrow a role's.

// MaxSessionPolicyBytes bounds a session policy in its compact JSON form, as STS bounds its
// own: the policy travels inside the token, and a token travels in a header.
const MaxSessionPolicyBytes = 2048

// SessionPolicySource names a session policy in messages and decisions.
const SessionPolicySource = "session policy"

// ParseSessionPolicy checks a session policy document and compiles it: compact is the document
// without insignificant white space, the form a token carries and the form whose size counts.
func ParseSessionPolicy(raw []byte) (compact string, set *Set, err error) {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return "", nil, fmt.Errorf("policy: not JSON: %w", err)
	}
	if b.Len() > MaxSessionPolicyBytes {
		return "", nil, fmt.Errorf("policy: %d bytes without white space; a session policy has at most %d", b.Len(), MaxSessionPolicyBytes)
	}
	set, err = CompileSessionPolicy(b.String())
	if err != nil {
		return "", nil, err
	}
	return b.String(), set, nil
}

// CompileSessionPolicy compiles the compact session policy a token carries.
func CompileSessionPolicy(compact string) (*Set, error) {
	d, err := Parse(SessionPolicySource, []byte(compact))
	if err != nil {
		return nil, err
	}
	return Compile(d)
}

// Layer names the policy that decided a request whose session carries its own.
type Layer uint8

const (
	LayerRoute   Layer = iota // the route's policies (the handler's files and shortcuts)
	LayerSession              // the session policy the token carries
	LayerRole                 // the policy of the role the token was minted for
)

func (l Layer) String() string { return [...]string{"route", "session", "role"}[l] }

// Verdict is the decision on a request under the route's policy and the session's own.
type Verdict struct {
	Result
	By Layer // which policy decided
	// Narrowed is set when a policy of the session's did not allow the request: no fresh
	// factor changes what the token was narrowed to, so the remedy is a refusal.
	Narrowed bool
}

// EvaluateScoped decides a request whose session carries policies of its own (session and
// role; nil: none): it is allowed only when the route allows it and each of them does; an
// explicit Deny in any of them wins, and a session policy that says nothing denies.
func EvaluateScoped(route *Set, ctx *Context, session, role *Set) Verdict {
	v := Verdict{Result: route.Evaluate(ctx), By: LayerRoute}
	for _, layer := range [...]struct {
		set  *Set
		name Layer
	}{{session, LayerSession}, {role, LayerRole}} {
		if layer.set == nil {
			continue
		}
		res := layer.set.Evaluate(ctx)
		if res.Decision == Allowed {
			continue
		}
		v.Narrowed = true
		if v.Decision == Allowed || res.Decision == ExplicitDeny && v.Decision != ExplicitDeny {
			v.Result, v.By = res, layer.name
		}
	}
	return v
}

// RemedyScoped is the remedy for a request EvaluateScoped denied: a refusal when the session's
// own policy denied it, else the route's remedy.
func RemedyScoped(route *Set, ctx *Context, v Verdict) Challenge {
	if v.Narrowed {
		return Challenge{Remedy: RemedyForbidden, MaxAge: route.maxAge}
	}
	return route.Remedy(ctx)
}
