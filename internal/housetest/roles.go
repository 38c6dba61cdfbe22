package housetest

import (
	"testing"
	"time"

	"github.com/caddy-mfa/caddy-mfa/auth"
	"github.com/caddy-mfa/caddy-mfa/gate"
	"github.com/caddy-mfa/caddy-mfa/policy"
	"github.com/caddy-mfa/caddy-mfa/roles"
)

// RoleSpec declares a role for a test: its trust and role policies as JSON ("" policy: none).
type RoleSpec struct {
	Name, Trust, Policy string
	MaxDuration         time.Duration // zero: an hour
}

// WithRoles declares roles in the house's config, as the app's `role` blocks would.
func WithRoles(t testing.TB, specs ...RoleSpec) Option {
	t.Helper()
	list := make([]*roles.Role, 0, len(specs))
	for _, sp := range specs {
		r := &roles.Role{Name: sp.Name, Trust: CompilePolicy(t, sp.Name+".trust.json", sp.Trust), MaxDuration: sp.MaxDuration}
		if sp.Policy != "" {
			r.Policy = CompilePolicy(t, sp.Name+".policy.json", sp.Policy)
		}
		if r.MaxDuration == 0 {
			r.MaxDuration = time.Hour
		}
		list = append(list, r)
	}
	set, err := roles.NewSet(list)
	if err != nil {
		t.Fatal(err)
	}
	return func(_ *gate.Options, cfg *auth.Config, _ *auth.Deps) { cfg.Roles = set }
}

// WithPolicy makes the gate's policy this document.
func WithPolicy(t testing.TB, doc string) Option {
	t.Helper()
	set := CompilePolicy(t, "route.json", doc)
	return func(o *gate.Options, _ *auth.Config, _ *auth.Deps) { o.Policy = set }
}

// CompilePolicy compiles one document or fails the test.
func CompilePolicy(t testing.TB, source, doc string) *policy.Set {
	t.Helper()
	d, err := policy.Parse(source, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	set, err := policy.Compile(d)
	if err != nil {
		t.Fatal(err)
	}
	return set
}
