package roles

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/caddy-mfa/caddy-mfa/policy"
)

// Role is one declared role.
type Role struct {
	Name        string
	Description string
	// Trust decides who may assume the role: evaluated like a route's policy over the caller of
	// AssumeRole (user, groups, mfa:Present, mfa:Age, mfa:Method ...).
	Trust *policy.Set
	// Policy narrows every token of the role, as a session policy does; nil: the route alone
	// decides.
	Policy *policy.Set
	// MaxDuration bounds a role token's lifetime.
	MaxDuration time.Duration
	// TrustFile and PolicyFile are where Trust and Policy came from, for operators.
	TrustFile, PolicyFile string
	// TrustFindings are what policy.LintTrust found in the trust policy.
	TrustFindings []policy.Finding
}

// DefaultDuration is a role token's lifetime when the caller asks for none: STS's hour, or the
// role's maximum when that is shorter.
func (r *Role) DefaultDuration() time.Duration { return min(time.Hour, r.MaxDuration) }

// namePattern is IAM's role name: at most 64 of letters, digits and +=,.@_-.
var namePattern = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)

// sessionNamePattern is STS's RoleSessionName: 2 to 64 of the same.
var sessionNamePattern = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)

// ValidName reports a role name IAM would take.
func ValidName(name string) bool { return namePattern.MatchString(name) }

// ValidSessionName reports a role session name STS would take.
func ValidSessionName(name string) bool { return sessionNamePattern.MatchString(name) }

// Set is the declared roles, by name. The zero Set and a nil *Set have none.
type Set struct {
	byName map[string]*Role
	names  []string
}

// NewSet checks the roles (a name each, unique, a trust policy, a positive maximum) and indexes
// them.
func NewSet(list []*Role) (*Set, error) {
	s := &Set{byName: map[string]*Role{}}
	for _, r := range list {
		switch {
		case !ValidName(r.Name):
			return nil, fmt.Errorf("role %q: the name must be 1 to 64 letters, digits and +=,.@_-", r.Name)
		case s.byName[r.Name] != nil:
			return nil, fmt.Errorf("role %s: declared twice", r.Name)
		case r.Trust == nil:
			return nil, fmt.Errorf("role %s: trust: a trust policy is required", r.Name)
		case r.MaxDuration <= 0:
			return nil, fmt.Errorf("role %s: max_duration: must be positive", r.Name)
		}
		s.byName[r.Name] = r
		s.names = append(s.names, r.Name)
	}
	slices.Sort(s.names)
	return s, nil
}

// Get is the role of that name; nil when there is none.
func (s *Set) Get(name string) *Role {
	if s == nil {
		return nil
	}
	return s.byName[name]
}

// All is every role, by name.
func (s *Set) All() []*Role {
	if s == nil {
		return nil
	}
	out := make([]*Role, 0, len(s.names))
	for _, n := range s.names {
		out = append(out, s.byName[n])
	}
	return out
}
