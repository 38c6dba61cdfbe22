package caddymodule

import (
	"fmt"
	"os"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/roles"
)

// RoleConfig declares a role that API consumers and users may assume (STS AssumeRole):
//
//	role <name> {
//		trust <policy file>     # who may assume it (required)
//		policy <policy file>    # what its tokens may do, beside the route's policies
//		max_duration 1h         # the longest a token of the role lives
//		description "..."
//	}
type RoleConfig struct {
	// Name is the role's name: 1 to 64 letters, digits and +=,.@_- (IAM's rule).
	Name string `json:"name"`
	// Trust is the trust policy's file: it decides, over the caller's context (user, groups,
	// mfa:Present, mfa:Age, mfa:Method ...), who may assume the role. Required.
	Trust string `json:"trust"`
	// Policy is the role's own session policy's file: a role token reaches only what both it
	// and the route allow. Default: none (the route alone decides).
	Policy string `json:"policy,omitempty"`
	// MaxDuration is the longest lifetime of a token of the role, between session_tokens min
	// and max. Default: 1h.
	MaxDuration caddy.Duration `json:"max_duration,omitempty"`
	// Description says what the role is for, to operators (GET /mfa/roles).
	Description string `json:"description,omitempty"`
}

// maxDescription bounds a role's description (IAM's limit).
const maxDescription = 1000

// validateRoles checks the roles' fields, naming the role and the field.
func (a *App) validateRoles() error {
	seen := map[string]bool{}
	for _, r := range a.Roles {
		switch {
		case !roles.ValidName(r.Name):
			return fmt.Errorf("mfa: role %q: the name must be 1 to 64 letters, digits and +=,.@_-", r.Name)
		case seen[r.Name]:
			return fmt.Errorf("mfa: role %s: declared twice", r.Name)
		case r.Trust == "":
			return fmt.Errorf("mfa: role %s: trust: a trust policy file is required", r.Name)
		case len(r.Description) > maxDescription:
			return fmt.Errorf("mfa: role %s: description: at most %d characters", r.Name, maxDescription)
		}
		seen[r.Name] = true
		if err := a.validateRoleDuration(r); err != nil {
			return err
		}
	}
	return nil
}

// validateRoleDuration keeps a role's tokens within the session tokens' bounds, so revocation
// (which remembers session_tokens max) outlives them.
func (a *App) validateRoleDuration(r RoleConfig) error {
	lo, hi := 15*time.Minute, 36*time.Hour
	if t := a.SessionTokens; t != nil {
		lo, hi = cmpDuration(t.Min, lo), cmpDuration(t.Max, hi)
	}
	d := time.Duration(r.MaxDuration)
	if d != 0 && (d < lo || d > hi) {
		return fmt.Errorf("mfa: role %s: max_duration: %v is not between session_tokens min %v and max %v", r.Name, d, lo, hi)
	}
	return nil
}

func cmpDuration(set caddy.Duration, def time.Duration) time.Duration {
	if set == 0 {
		return def
	}
	return time.Duration(set)
}

// compileRoles reads the roles' policy files and compiles them.
func (a *App) compileRoles() (*roles.Set, error) {
	list := make([]*roles.Role, 0, len(a.Roles))
	for _, rc := range a.Roles {
		r := &roles.Role{Name: rc.Name, Description: rc.Description, MaxDuration: time.Duration(rc.MaxDuration),
			TrustFile: rc.Trust, PolicyFile: rc.Policy}
		if r.MaxDuration == 0 {
			r.MaxDuration = time.Hour
		}
		trust, err := readPolicy(rc.Name, "trust", rc.Trust)
		if err != nil {
			return nil, err
		}
		if r.Trust, err = compile(rc.Name, "trust", trust); err != nil {
			return nil, err
		}
		r.TrustFindings = policy.LintTrust(trust)
		for _, f := range r.TrustFindings {
			a.logger.Warn("role trust policy: "+f.Message, zap.String("role", rc.Name), zap.String("file", rc.Trust), zap.String("statement", f.Statement))
		}
		if rc.Policy != "" {
			d, err := readPolicy(rc.Name, "policy", rc.Policy)
			if err != nil {
				return nil, err
			}
			if r.Policy, err = compile(rc.Name, "policy", d); err != nil {
				return nil, err
			}
		}
		list = append(list, r)
	}
	set, err := roles.NewSet(list)
	if err != nil {
		return nil, fmt.Errorf("mfa: %w", err)
	}
	return set, nil
}

func readPolicy(role, field, file string) (*policy.Document, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("mfa: role %s: %s: %w", role, field, err)
	}
	d, err := policy.Parse(file, raw)
	if err != nil {
		return nil, fmt.Errorf("mfa: role %s: %s: %w", role, field, err)
	}
	return d, nil
}

func compile(role, field string, d *policy.Document) (*policy.Set, error) {
	set, err := policy.Compile(d)
	if err != nil {
		return nil, fmt.Errorf("mfa: role %s: %s: %w", role, field, err)
	}
	return set, nil
}

// unmarshalRole reads `role <name> { trust FILE; policy FILE; max_duration D; description S }`.
func (a *App) unmarshalRole(d *caddyfile.Dispenser) error {
	var r RoleConfig
	if !d.Args(&r.Name) || d.NextArg() {
		return d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		var err error
		switch key := d.Val(); key {
		case "trust":
			err = oneString(d, &r.Trust)
		case "policy":
			err = oneString(d, &r.Policy)
		case "max_duration":
			err = oneDuration(d, &r.MaxDuration)
		case "description":
			err = oneString(d, &r.Description)
		default:
			return d.Errf("role %s: unknown key %q", r.Name, key)
		}
		if err != nil {
			return fmt.Errorf("role %s: %w", r.Name, err)
		}
	}
	if r.Trust == "" {
		return d.Errf("role %s: trust: a trust policy file is required", r.Name)
	}
	a.Roles = append(a.Roles, r)
	return nil
}
