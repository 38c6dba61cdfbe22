package gateway

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

	"github.com/caddy-mfa/caddy-mfa/policy"
)

type simulateRequest struct {
	Policies []json.RawMessage          `json:"policies"`
	Request  simulatedRequest           `json:"request"`
	Context  map[string]json.RawMessage `json:"context"`
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
	Remedy            string   `json:"remedy"`
	MaxAge            *int64   `json:"max_age,omitempty"`
}

// simulate is IAM's policy simulator for the gateway: the decision on a described request, the
// statements that matched, and what would help.
func (a *Admin) simulate(w http.ResponseWriter, r *http.Request) {
	var req simulateRequest
	if e := decodeJSON(w, r, &req); e != nil {
		writeError(w, e)
		return
	}
	ctx, err := simulatedContext(req.Request, req.Context, a.svc.Now())
	if err != nil {
		writeError(w, apiErr(CodeInvalidInput, err.Error()))
		return
	}
	var sets []*policy.Set
	if len(req.Policies) > 0 {
		docs := make([]*policy.Document, 0, len(req.Policies))
		for i, raw := range req.Policies {
			d, err := policy.ParseJSON(fmt.Sprintf("policies[%d]", i), raw)
			if err != nil {
				writeError(w, apiErr(CodeInvalidInput, err.Error()))
				return
			}
			docs = append(docs, d)
		}
		set, err := policy.Compile(docs...)
		if err != nil {
			writeError(w, apiErr(CodeInvalidInput, err.Error()))
			return
		}
		sets = []*policy.Set{set}
	} else {
		if a.PoliciesFor == nil {
			writeError(w, apiErr(CodeInvalidInput, "policies: give one or more documents"))
			return
		}
		if sets, err = a.PoliciesFor(ctx.Method, ctx.Host, ctx.Path); err != nil {
			writeError(w, apiErr(CodeInvalidInput, err.Error()))
			return
		}
	}
	writeJSON(w, http.StatusOK, simulateAll(sets, &ctx))
}

// simulateAll evaluates every set (each gate on the route must allow) and reports the first
// refusal, or the allow.
func simulateAll(sets []*policy.Set, ctx *policy.Context) simulateResponse {
	resp := simulateResponse{Decision: policy.Allowed.String(), MatchedStatements: []string{}, Remedy: policy.RemedyNone.String()}
	if len(sets) == 0 {
		return resp // no gate on the route
	}
	for _, s := range sets {
		for _, ref := range s.Matching(ctx) {
			resp.MatchedStatements = append(resp.MatchedStatements, ref.Sid)
		}
	}
	for _, s := range sets {
		res := s.Evaluate(ctx)
		if res.Decision == policy.Allowed {
			if resp.DecidedBy == "" {
				resp.DecidedBy = res.By.String()
			}
			continue
		}
		resp.Decision, resp.DecidedBy = res.Decision.String(), ""
		if res.By != nil {
			resp.DecidedBy = res.By.String()
		}
		ch := s.Remedy(ctx)
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
		err = canonicalize(sent)
	}
	if err != nil {
		return "", "", fmt.Errorf("request.path: %q: %w", req.Path, err)
	}
	return sent.Method, sent.URL.Path, nil
}

// simulatedContext builds a request context from the simulator's description. A key left out
// is absent; user:AuthType, when not given, follows from which keys are there.
func simulatedContext(req simulatedRequest, keys map[string]json.RawMessage, now time.Time) (policy.Context, error) {
	ctx := policy.Context{Host: canonicalHost(req.Host), Time: now}
	var err error
	if ctx.Method, ctx.Path, err = simulatedRequestLine(req); err != nil {
		return ctx, err
	}
	if req.SourceIP != "" {
		ip, err := netip.ParseAddr(req.SourceIP)
		if err != nil {
			return ctx, fmt.Errorf("request.source_ip: %q is not an IP address", req.SourceIP)
		}
		ctx.SourceIP = ip
	}
	str := func(name string) (string, bool, error) {
		raw, ok := keys[name]
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
	known := map[string]bool{}
	for _, k := range policy.KeyNames() {
		known[k] = true
	}
	for k := range keys {
		if !known[k] {
			return ctx, fmt.Errorf("context: unknown key %q", k)
		}
		if strings.HasPrefix(k, "req:") && k != "req:Secure" && k != "req:Time" {
			return ctx, fmt.Errorf("context %s: describe the request in \"request\" instead", k)
		}
	}
	if s, ok, err := str("req:Time"); err != nil {
		return ctx, err
	} else if ok {
		if ctx.Time, err = time.Parse(time.RFC3339, s); err != nil {
			return ctx, fmt.Errorf("context req:Time: want RFC 3339, got %s", s)
		}
	}
	now = ctx.Time
	user, hasUser, err := str("user:Id")
	if err != nil {
		return ctx, err
	}
	present, hasPresent, err := str("mfa:Present")
	if err != nil {
		return ctx, err
	}
	authType, hasAuth, err := str("user:AuthType")
	if err != nil {
		return ctx, err
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
	if hasRaw, ok := keys["user:Groups"]; ok {
		var groups []string
		if err := json.Unmarshal(hasRaw, &groups); err != nil {
			var one string
			if json.Unmarshal(hasRaw, &one) != nil {
				return ctx, fmt.Errorf("context user:Groups: want a list of strings")
			}
			groups = []string{one}
		}
		ctx.Groups = groups
	}
	if hasPresent && present != "true" && present != "false" {
		return ctx, fmt.Errorf("context mfa:Present: want true or false, got %s", present)
	}
	ctx.MFAPresent = present == "true"
	if age, ok, err := str("mfa:Age"); err != nil {
		return ctx, err
	} else if ok {
		n, err := strconv.ParseInt(age, 10, 64)
		if err != nil || n < 0 {
			return ctx, fmt.Errorf("context mfa:Age: want whole seconds, got %s", age)
		}
		ctx.MFATime = now.Add(-time.Duration(n) * time.Second)
	}
	if m, ok, err := str("mfa:Method"); err != nil {
		return ctx, err
	} else if ok {
		ctx.MFAMethod = m
		if ctx.MFATime.IsZero() {
			ctx.MFATime = now
		}
	}
	if ctx.MFAPresent && ctx.MFATime.IsZero() {
		ctx.MFATime = now
	}
	if s, ok, err := str("req:Secure"); err != nil {
		return ctx, err
	} else if ok {
		ctx.Secure = s == "true"
	}
	if (authType == policy.AuthAnonymous || authType == policy.AuthAccessKey) && hasPresent {
		return ctx, errors.New("context mfa:Present: absent for anonymous and access-key requests; leave it out")
	}
	return ctx, nil
}
