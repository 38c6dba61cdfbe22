package sim

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

	"github.com/caddy-mfa/caddy-mfa/canonical"
	"github.com/caddy-mfa/caddy-mfa/policy"
)

// Request is a described request: what the simulator and a test case say of it.
type Request struct {
	Method   string `json:"method"`
	Host     string `json:"host"`
	Path     string `json:"path"`
	SourceIP string `json:"source_ip"`
}

// requestLine is the described method and path in the gate's own canonical form, so
// the simulator decides what the gate would.
func requestLine(req Request) (method, path string, err error) {
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

// NewContext builds a request context from the simulator's description. A key left out
// is absent; user:AuthType, when not given, follows from which keys are there.
func NewContext(req Request, keys map[string]json.RawMessage, now time.Time) (policy.Context, error) {
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
func describeRequest(ctx *policy.Context, req Request) error {
	var err error
	if ctx.Method, ctx.Path, err = requestLine(req); err != nil {
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
			if near := policy.SuggestKey(name); near != "" {
				return fmt.Errorf("context: unknown key %q: did you mean %s?", name, near)
			}
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
