package policy

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync/atomic"
)

// Decision is the outcome of evaluation, in the IAM policy simulator's terms.
type Decision uint8

const (
	ImplicitDeny Decision = iota // no statement allowed the request
	Allowed
	ExplicitDeny // a Deny statement matched: nothing can override it
)

func (d Decision) String() string {
	return [...]string{"implicitDeny", "allowed", "explicitDeny"}[d]
}

// Set is compiled policy: one or more documents, evaluated together.
type Set struct {
	statements []compiled
	maxAge     int64           // the tightest mfa:Age limit any statement sets, in seconds; -1: none
	decided    []atomic.Uint64 // per statement: the requests it decided (Record)
}

type compiled struct {
	ref         StatementRef
	deny        bool
	actions     []string // upper-case globs; nil: every method
	notActions  bool
	resources   []resource
	notResource bool
	// foldPaths: paths are compared ignoring case where that reading is the stricter one (a
	// Deny's Resource, an Allow's NotResource), since many upstreams (Windows and macOS file
	// systems, IIS, Caddy's own path matcher) serve /ADMIN/x as /admin/x.
	foldPaths  bool
	conditions []*condition
}

// StatementRef names a statement in messages and decisions.
type StatementRef struct {
	Sid    string `json:"sid"`
	Source string `json:"source,omitempty"`
	at     int    // its place in the set, for Record
}

func (r StatementRef) String() string {
	if r.Source == "" {
		return r.Sid
	}
	return r.Source + "#" + r.Sid
}

// Compile validates documents and compiles them into one Set.
func Compile(docs ...*Document) (*Set, error) {
	s := &Set{maxAge: -1}
	for _, d := range docs {
		if len(d.Statement) == 0 {
			return nil, &Error{Source: d.Source, Field: "Statement", Err: errEmpty}
		}
		for i := range d.Statement {
			st := &d.Statement[i]
			c, err := compileStatement(st)
			if err != nil {
				var pe *Error
				if errors.As(err, &pe) {
					pe.Source, pe.Statement = d.Source, statementName(st, i)
					return nil, pe
				}
				return nil, &Error{Source: d.Source, Statement: statementName(st, i), Err: err}
			}
			c.ref = StatementRef{Sid: statementName(st, i), Source: d.Source, at: len(s.statements)}
			s.statements = append(s.statements, c)
			if a := ageLimit(c); a >= 0 && (s.maxAge < 0 || a < s.maxAge) {
				s.maxAge = a
			}
		}
	}
	s.newCounters()
	return s, nil
}

func compileStatement(st *Statement) (compiled, error) {
	var c compiled
	switch st.Effect {
	case "Allow":
	case "Deny":
		c.deny = true
	default:
		return c, &Error{Field: "Effect", Err: fmt.Errorf("want Allow or Deny, got %q", st.Effect)}
	}
	actions, field := st.Action, "Action"
	if len(st.NotAction) > 0 {
		if len(st.Action) > 0 {
			return c, &Error{Field: "NotAction", Err: errors.New("a statement has Action or NotAction, not both")}
		}
		actions, field, c.notActions = st.NotAction, "NotAction", true
	}
	for _, a := range actions {
		if a == "" || strings.Trim(strings.ToUpper(a), "ABCDEFGHIJKLMNOPQRSTUVWXYZ*?") != "" {
			return c, &Error{Field: field, Err: fmt.Errorf("%q is not an HTTP method or a pattern of one", a)}
		}
		if a == "*" && !c.notActions {
			c.actions = nil // every method: skip the loop at evaluation
			break
		}
		c.actions = append(c.actions, wildcards(strings.ToUpper(a)))
	}
	resources, field := st.Resource, "Resource"
	if len(st.NotResource) > 0 {
		if len(st.Resource) > 0 {
			return c, &Error{Field: "NotResource", Err: errors.New("a statement has Resource or NotResource, not both")}
		}
		resources, field, c.notResource = st.NotResource, "NotResource", true
	}
	c.foldPaths = c.deny != c.notResource
	for _, r := range resources {
		pr, err := parseResource(r)
		if err != nil {
			return c, &Error{Field: field, Err: err}
		}
		c.resources = append(c.resources, pr)
	}
	// Operators in a fixed order, so evaluation and messages do not depend on map order.
	for _, opName := range sortedKeys(st.Condition) {
		for _, keyName := range sortedKeys(st.Condition[opName]) {
			cond, err := compileCondition(opName, keyName, st.Condition[opName][keyName])
			if err != nil {
				return c, &Error{Field: "Condition." + opName, Err: err}
			}
			c.conditions = append(c.conditions, cond)
		}
	}
	return c, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// ageLimit is the largest mfa:Age (in seconds) a statement lets through, or -1 when it sets
// none: an Allow with NumericLessThan(Equals), or a Deny with NumericGreaterThan(Equals).
func ageLimit(c compiled) int64 {
	limit := int64(-1)
	for _, cond := range c.conditions {
		if cond.key != keyMFAAge || cond.op == nil {
			continue
		}
		for _, n := range cond.numbers {
			var a float64
			switch {
			case !c.deny && cond.op.order(-1) && !cond.op.order(0): // LessThan
				a = n - 1
			case !c.deny && cond.op.order(-1): // LessThanEquals
				a = n
			case c.deny && cond.op.order(1) && !cond.op.order(0): // GreaterThan
				a = n
			case c.deny && cond.op.order(1): // GreaterThanEquals
				a = n - 1
			default:
				continue
			}
			if a = math.Floor(a); a >= 0 && (limit < 0 || int64(a) < limit) {
				limit = int64(a)
			}
		}
	}
	return limit
}

func (c *compiled) applies(ctx *Context) bool {
	if c.actions != nil && c.actionHit(ctx.Method) == c.notActions {
		return false
	}
	if c.resources != nil {
		hit := false
		for i := range c.resources {
			if c.resources[i].match(ctx, c.foldPaths) {
				hit = true
				break
			}
		}
		if hit == c.notResource {
			return false
		}
	}
	for _, cond := range c.conditions {
		if !cond.eval(ctx) {
			return false
		}
	}
	return true
}

// actionHit reports whether the statement's actions name the method. HEAD is GET without a
// body, so statements on GET govern it too (as nginx's limit_except GET does): a Deny on GET
// denies HEAD, an Allow on GET allows it.
func (c *compiled) actionHit(method string) bool {
	for _, a := range c.actions {
		// a == method is the common case answered without the glob (which would agree: a
		// pattern matches itself, whatever wildcards it holds).
		if a == method || glob(a, method) || method == "HEAD" && glob(a, "GET") {
			return true
		}
	}
	return false
}

// Result is a decision and the statement that made it.
type Result struct {
	Decision Decision
	// By is the statement that decided: the first matching Deny, else the first matching Allow.
	By *StatementRef
}

// Evaluate decides a request with IAM's logic: a matching Deny wins, else a matching Allow,
// else the request is implicitly denied.
func (s *Set) Evaluate(ctx *Context) Result {
	var allow *StatementRef
	for i := range s.statements {
		st := &s.statements[i]
		if st.deny {
			if st.applies(ctx) {
				return Result{Decision: ExplicitDeny, By: &st.ref}
			}
		} else if allow == nil && st.applies(ctx) {
			allow = &st.ref
		}
	}
	if allow != nil {
		return Result{Decision: Allowed, By: allow}
	}
	return Result{Decision: ImplicitDeny}
}

// Matching lists every statement that applies to the request, for the simulator.
func (s *Set) Matching(ctx *Context) []StatementRef {
	var out []StatementRef
	for i := range s.statements {
		if s.statements[i].applies(ctx) {
			out = append(out, s.statements[i].ref)
		}
	}
	return out
}

// MaxAge is the tightest mfa:Age limit in the set, in seconds, and whether there is one.
func (s *Set) MaxAge() (int64, bool) { return s.maxAge, s.maxAge >= 0 }
