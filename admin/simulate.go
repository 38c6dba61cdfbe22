package admin

// The operators' policy simulator (POST /mfa/policy/simulate), in IAM's terms: the decision on
// a described request, the statements that matched, and what would help.

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/canonical"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/web"
)

type simulateRequest struct {
	Policies []json.RawMessage `json:"policies"`
	// SessionPolicy is the session policy of the simulated token (GetSessionToken's policy).
	SessionPolicy json.RawMessage            `json:"session_policy"`
	Request       simulatedRequest           `json:"request"`
	Context       map[string]json.RawMessage `json:"context"`
}

type simulatedRequest struct {
	Method   string `json:"method"`
	Host     string `json:"host"`
	Path     string `json:"path"`
	SourceIP string `json:"source_ip"`
}

type simulateResponse struct {
	Decision          string   `json:"decision"`
	MatchedStatements []string `json:"matched_statements"`
	DecidedBy         string   `json:"decided_by,omitempty"`
	// DecidingPolicy says which policy decided: "route", "session" (the session policy) or
	// "role" (the policy of the declared role named by role:Name).
	DecidingPolicy string `json:"deciding_policy"`
	Remedy         string `json:"remedy"`
	MaxAge         *int64 `json:"max_age,omitempty"`
}

// simulate is IAM's policy simulator for the gateway: the decision on a described request, the
// statements that matched, and what would help.
func (a *Admin) simulate(w http.ResponseWriter, r *http.Request) {
	var req simulateRequest
	if e := web.DecodeJSON(w, r, &req); e != nil {
		web.WriteError(w, e)
		return
	}
	ctx, err := simulatedContext(req.Request, req.Context, a.ops.Now())
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
	var role *policy.Set
	if r := a.ops.Roles.Get(ctx.RoleName); r != nil {
		role = r.Policy // the declared role narrows its tokens, as at the gate
	}
	web.WriteJSON(w, http.StatusOK, simulateAll(sets, session, role, &ctx))
}

// simulateAll evaluates every set (each gate on the route must allow), each together with the
// session policy (nil: none), and reports the first refusal, or the allow.
func simulateAll(sets []*policy.Set, session, role *policy.Set, ctx *policy.Context) simulateResponse {
	resp := simulateResponse{Decision: policy.Allowed.String(), MatchedStatements: []string{}, Remedy: policy.RemedyNone.String(),
		DecidingPolicy: policy.LayerRoute.String()}
	if len(sets) == 0 {
		return resp // no gate on the route
	}
	layers := sets[:len(sets):len(sets)]
	for _, own := range []*policy.Set{session, role} {
		if own != nil {
			layers = append(layers, own)
		}
	}
	for _, s := range layers {
		for _, ref := range s.Matching(ctx) {
			resp.MatchedStatements = append(resp.MatchedStatements, ref.Sid)
		}
	}
	for _, s := range sets {
		v := policy.EvaluateScoped(s, ctx, session, role)
		if v.Decision == policy.Allowed {
			if resp.DecidedBy == "" {
				resp.DecidedBy = v.Result.By.String()
			}
			continue
		}
		resp.Decision, resp.DecidedBy, resp.DecidingPolicy = v.Decision.String(), "", v.By.String()
		if v.Result.By != nil {
			resp.DecidedBy = v.Result.By.String()
		}
		ch := policy.RemedyScoped(s, ctx, v)
		resp.Remedy = ch.Remedy.String()
		if ch.MaxAge >= 0 {
			resp.MaxAge = &ch.MaxAge
		}
		break
	}
	return resp
}

// simulatedRequestLine is the described method and path in the gate's own canonical form, so
// the simulator decides what the gate would.
func simulatedRequestLine(req simulatedRequest) (method, path string, err error) {
	if req.Path == "" || req.Path[0] != '/' {
		return "", "", fmt.Errorf("request.path: want a path starting with /, got %q", req.Path)
	}
	u, err := url.ParseRequestURI(req.Path)
	sent := &http.Request{Method: cmp.Or(req.Method, http.MethodGet), URL: u}
	if err == nil {
		err = canonical.Request(sent)
	}
	if err != nil {
		return "", "", fmt.Errorf("request.path: %q: %w", req.Path, err)
	}
	return sent.Method, sent.URL.Path, nil
}

// simulatedContext builds a request context from the simulator's description. A key left out
// is absent; user:AuthType, when not given, follows from which keys are there.
func simulatedContext(req simulatedRequest, keys map[string]json.RawMessage, now time.Time) (policy.Context, error) {
	ctx := policy.Context{Host: canonical.Host(req.Host), Time: now}
	if err := describeRequest(&ctx, req); err != nil {
		return ctx, err
	}
	k := contextKeys(keys)
	if err := k.check(); err != nil {
		return ctx, err
	}
	if err := k.time(&ctx); err != nil {
		return ctx, err
	}
	present, hasPresent, err := k.user(&ctx)
	if err != nil {
		return ctx, err
	}
	if err := k.role(&ctx); err != nil {
		return ctx, err
	}
	if err := k.mfa(&ctx, present, hasPresent); err != nil {
		return ctx, err
	}
	if s, ok, err := k.str("req:Secure"); err != nil {
		return ctx, err
	} else if ok {
		ctx.Secure = s == "true"
	}
	if (ctx.AuthType == policy.AuthAnonymous || ctx.AuthType == policy.AuthAccessKey) && hasPresent {
		return ctx, errors.New("context mfa:Present: absent for anonymous and access-key requests; leave it out")
	}
	return ctx, nil
}

// describeRequest puts the described request's line and source address into ctx.
func describeRequest(ctx *policy.Context, req simulatedRequest) error {
	var err error
	if ctx.Method, ctx.Path, err = simulatedRequestLine(req); err != nil {
		return err
	}
	if req.SourceIP != "" {
		ip, err := netip.ParseAddr(req.SourceIP)
		if err != nil {
			return fmt.Errorf("request.source_ip: %q is not an IP address", req.SourceIP)
		}
		ctx.SourceIP = ip
	}
	return nil
}

// contextKeys are the simulator's context keys, as sent.
type contextKeys map[string]json.RawMessage

// str is a key's value as the policy compares it; ok is false when the key is absent.
func (k contextKeys) str(name string) (string, bool, error) {
	raw, ok := k[name]
	if !ok {
		return "", false, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", false, fmt.Errorf("context %s: %w", name, err)
	}
	switch x := v.(type) {
	case string:
		return x, true, nil
	case bool:
		return strconv.FormatBool(x), true, nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true, nil
	}
	return "", false, fmt.Errorf("context %s: want a string, number or boolean", name)
}

// check refuses unknown keys, and the request's keys that "request" describes.
func (k contextKeys) check() error {
	known := map[string]bool{}
	for _, name := range policy.KeyNames() {
		known[name] = true
	}
	for name := range k {
		if !known[name] {
			return fmt.Errorf("context: unknown key %q", name)
		}
		if strings.HasPrefix(name, "req:") && name != "req:Secure" && name != "req:Time" {
			return fmt.Errorf("context %s: describe the request in \"request\" instead", name)
		}
	}
	return nil
}

// time sets the request's time from req:Time.
func (k contextKeys) time(ctx *policy.Context) error {
	s, ok, err := k.str("req:Time")
	if err != nil || !ok {
		return err
	}
	if ctx.Time, err = time.Parse(time.RFC3339, s); err != nil {
		return fmt.Errorf("context req:Time: want RFC 3339, got %s", s)
	}
	return nil
}

// user sets the caller: user:Id, user:Groups, and user:AuthType or what the other keys imply.
// It returns mfa:Present as sent, for mfa.
func (k contextKeys) user(ctx *policy.Context) (present string, hasPresent bool, err error) {
	user, hasUser, err := k.str("user:Id")
	if err != nil {
		return "", false, err
	}
	if present, hasPresent, err = k.str("mfa:Present"); err != nil {
		return "", false, err
	}
	authType, hasAuth, err := k.str("user:AuthType")
	if err != nil {
		return "", false, err
	}
	switch {
	case hasAuth:
	case !hasUser:
		authType = policy.AuthAnonymous
	case !hasPresent:
		authType = policy.AuthAccessKey
	default:
		authType = policy.AuthToken
	}
	ctx.AuthType, ctx.UserID = authType, user
	if raw, ok := k["user:Groups"]; ok {
		var groups []string
		if err := json.Unmarshal(raw, &groups); err != nil {
			var one string
			if json.Unmarshal(raw, &one) != nil {
				return "", false, fmt.Errorf("context user:Groups: want a list of strings")
			}
			groups = []string{one}
		}
		ctx.Groups = groups
	}
	return present, hasPresent, nil
}

// role sets role:Name and role:SessionName, which only a signed-in caller's token carries.
func (k contextKeys) role(ctx *policy.Context) error {
	name, hasName, err := k.str("role:Name")
	if err != nil {
		return err
	}
	session, hasSession, err := k.str("role:SessionName")
	if err != nil {
		return err
	}
	if (hasName || hasSession) && (ctx.AuthType == policy.AuthAnonymous || !hasName) {
		return errors.New("context role:Name: a role token has user:Id and role:Name (and role:SessionName)")
	}
	ctx.RoleName, ctx.RoleSessionName = name, session
	return nil
}

// mfa sets the factor: mfa:Present, mfa:Age and mfa:Method, a factor's time defaulting to now.
func (k contextKeys) mfa(ctx *policy.Context, present string, hasPresent bool) error {
	if hasPresent && present != "true" && present != "false" {
		return fmt.Errorf("context mfa:Present: want true or false, got %s", present)
	}
	ctx.MFAPresent = present == "true"
	now := ctx.Time
	if age, ok, err := k.str("mfa:Age"); err != nil {
		return err
	} else if ok {
		n, err := strconv.ParseInt(age, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("context mfa:Age: want whole seconds, got %s", age)
		}
		ctx.MFATime = now.Add(-time.Duration(n) * time.Second)
	}
	m, hasMethod, err := k.str("mfa:Method")
	if err != nil {
		return err
	}
	ctx.MFAMethod = m
	if err := k.authenticator(ctx); err != nil {
		return err
	}
	if (hasMethod || ctx.MFAPresent) && ctx.MFATime.IsZero() {
		ctx.MFATime = now
	}
	return nil
}

// authenticator sets what the security key behind a webauthn factor showed of itself.
func (k contextKeys) authenticator(ctx *policy.Context) error {
	for name, to := range map[string]*bool{"mfa:UserVerified": &ctx.MFAUserVerified, "mfa:BackupEligible": &ctx.MFABackupEligible} {
		v, ok, err := k.str(name)
		if err != nil {
			return err
		}
		if ok && v != "true" && v != "false" {
			return fmt.Errorf("context %s: want true or false, got %s", name, v)
		}
		*to = v == "true"
	}
	id, _, err := k.str("mfa:Aaguid")
	ctx.MFAAaguid = id
	return err
}
