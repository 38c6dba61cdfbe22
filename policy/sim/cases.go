package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/caddy-mfa/caddy-mfa/policy"
)

// Case is one policy test: a described request, its context keys, and the decision (and
// optionally the remedy) the policies must reach.
type Case struct {
	Name    string                     `json:"name"`
	Request Request                    `json:"request"`
	Context map[string]json.RawMessage `json:"context,omitempty"`
	Expect  string                     `json:"expect"`
	Remedy  string                     `json:"remedy,omitempty"`
}

// CaseError is a refused case file: it names the file, the case (index from 0, and name) and
// the field.
type CaseError struct {
	Source string
	Index  int // -1: the file as a whole
	Name   string
	Field  string
	Err    error
}

func (e *CaseError) Error() string {
	s := "cases " + e.Source
	if e.Index >= 0 {
		s += ": case " + strconv.Itoa(e.Index)
		if e.Name != "" {
			s += " (" + strconv.Quote(e.Name) + ")"
		}
	}
	if e.Field != "" {
		s += ": " + e.Field
	}
	return s + ": " + e.Err.Error()
}

func (e *CaseError) Unwrap() error { return e.Err }

var (
	decisions = []string{policy.Allowed.String(), policy.ExplicitDeny.String(), policy.ImplicitDeny.String()}
	remedies  = []string{policy.RemedyNone.String(), policy.RemedyLogin.String(), policy.RemedyMFA.String(), policy.RemedyForbidden.String()}
)

// maxCasesSize bounds a case file: thousands of cases, not a log.
const maxCasesSize = 4 << 20

// ParseCases reads and checks a case file: a JSON list of cases. Each case's request and
// context are built once here, so a mistake is reported before anything runs.
func ParseCases(source string, data []byte) ([]Case, error) {
	if len(data) > maxCasesSize {
		return nil, &CaseError{Source: source, Index: -1, Err: fmt.Errorf("file is %d bytes, the limit is %d", len(data), maxCasesSize)}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var cases []Case
	if err := dec.Decode(&cases); err != nil {
		return nil, &CaseError{Source: source, Index: -1, Err: fmt.Errorf("want a JSON list of cases: %w", err)}
	}
	if len(cases) == 0 {
		return nil, &CaseError{Source: source, Index: -1, Err: fmt.Errorf("no cases")}
	}
	names := map[string]int{}
	for i := range cases {
		c := &cases[i]
		fail := func(field string, err error) error {
			return &CaseError{Source: source, Index: i, Name: c.Name, Field: field, Err: err}
		}
		if c.Name == "" {
			return nil, fail("name", fmt.Errorf("must not be empty"))
		}
		if j, dup := names[c.Name]; dup {
			return nil, fail("name", fmt.Errorf("case %d has the same name", j))
		}
		names[c.Name] = i
		if !slices.Contains(decisions, c.Expect) {
			return nil, fail("expect", fmt.Errorf("want one of %v, got %q", decisions, c.Expect))
		}
		if c.Remedy != "" && !slices.Contains(remedies, c.Remedy) {
			return nil, fail("remedy", fmt.Errorf("want one of %v, got %q", remedies, c.Remedy))
		}
		if _, err := NewContext(c.Request, c.Context, time.Unix(0, 0)); err != nil {
			return nil, fail("", err)
		}
	}
	return cases, nil
}

// Verdict is a case run: what the policies decided, and whether that is what it expects.
type Verdict struct {
	Case Case
	Got  Outcome
	Pass bool
}

// Judge compares an outcome with what the case expects.
func Judge(c Case, got Outcome) Verdict {
	pass := got.Decision == c.Expect && (c.Remedy == "" || got.Remedy == c.Remedy)
	return Verdict{Case: c, Got: got, Pass: pass}
}

// Run decides a case with the given policies at now (unless its context sets req:Time).
func Run(c Case, sets []*policy.Set, now time.Time) (Verdict, error) {
	ctx, err := NewContext(c.Request, c.Context, now)
	if err != nil {
		return Verdict{}, err
	}
	return Judge(c, Decide(sets, &ctx)), nil
}

// String is the verdict's line: the case, what it expects, what it got and which statement
// decided.
func (v Verdict) String() string {
	mark, by := "ok  ", v.Got.DecidedBy
	if !v.Pass {
		mark = "FAIL"
	}
	if by == "" {
		by = "no statement"
	}
	want, got := v.Case.Expect, v.Got.Decision
	if v.Case.Remedy != "" {
		want += ", remedy " + v.Case.Remedy
		got += ", remedy " + v.Got.Remedy
	}
	return fmt.Sprintf("%s %s: expected %s, got %s (%s)", mark, v.Case.Name, want, got, by)
}
