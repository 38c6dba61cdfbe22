package sim

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/caddy-mfa/caddy-mfa/policy"
)

// Change is a group of logged requests whose decision differs between two policy sets.
type Change struct {
	Method       string `json:"method"`
	Path         string `json:"path"` // the path pattern: ids collapsed to * (PathPattern)
	Old          string `json:"old"`
	New          string `json:"new"`
	OldStatement string `json:"old_statement,omitempty"`
	NewStatement string `json:"new_statement,omitempty"`
	Count        int    `json:"count"`
}

// Diff is what replaying an access log through two policy sets found.
type Diff struct {
	Lines    int `json:"lines"`    // lines of the log
	Replayed int `json:"replayed"` // requests a gate decided (lines with the mfa_* fields)
	// Unexplained counts replayed requests the old policies decide otherwise than the log
	// says: the old policies are not the ones that ran, or a later gate on the route decided.
	Unexplained int      `json:"unexplained"`
	Changes     []Change `json:"changes"`
}

// ErrNoMFAFields refuses a log whose lines lack the gate's fields: nothing can be replayed.
var ErrNoMFAFields = errors.New("no line carries the mfa_* fields (mfa_auth_type, mfa_decision ...): replay needs Caddy's JSON access log (format json) of a site with an mfa handler, written by a version that logs them")

// maxLogLine bounds one line: Caddy logs request headers, which a client can make long.
const maxLogLine = 1 << 20

// Replay reads a Caddy JSON access log and decides each gated request with old and new.
func Replay(log io.Reader, old, new *policy.Set) (Diff, error) {
	d := Diff{Changes: []Change{}}
	groups := map[Change]int{}
	sc := bufio.NewScanner(log)
	sc.Buffer(make([]byte, 64<<10), maxLogLine)
	for sc.Scan() {
		d.Lines++
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var l logLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return d, fmt.Errorf("line %d: not a JSON log entry: %w", d.Lines, err)
		}
		if !l.gated() {
			continue
		}
		ctx, err := l.context()
		if err != nil {
			return d, fmt.Errorf("line %d: %w", d.Lines, err)
		}
		d.Replayed++
		was, is := old.Evaluate(&ctx), new.Evaluate(&ctx)
		if was.Decision.String() != l.Decision {
			d.Unexplained++
		}
		if was.Decision != is.Decision {
			groups[Change{Method: ctx.Method, Path: PathPattern(ctx.Path), Old: was.Decision.String(), New: is.Decision.String(),
				OldStatement: refString(was.By), NewStatement: refString(is.By)}]++
		}
	}
	if err := sc.Err(); err != nil {
		return d, fmt.Errorf("line %d: %w", d.Lines+1, err)
	}
	if d.Replayed == 0 {
		return d, ErrNoMFAFields
	}
	for c, n := range groups {
		c.Count = n
		d.Changes = append(d.Changes, c)
	}
	slices.SortFunc(d.Changes, func(a, b Change) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Path, b.Path), cmp.Compare(a.Method, b.Method),
			cmp.Compare(a.Old+a.New, b.Old+b.New), cmp.Compare(a.OldStatement+a.NewStatement, b.OldStatement+b.NewStatement))
	})
	return d, nil
}

func refString(r *policy.StatementRef) string {
	if r == nil {
		return ""
	}
	return r.String()
}

var (
	uuidLike = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	hexID    = regexp.MustCompile(`^[0-9a-fA-F]{12,}$`)
	digits   = regexp.MustCompile(`^[0-9]+$`)
)

// PathPattern collapses the segments of a path that are ids, so that requests to one endpoint
// group together: a segment of digits, a UUID, or 12 or more hex digits with at least one
// digit becomes *. Other segments stay as they are.
func PathPattern(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if digits.MatchString(s) || uuidLike.MatchString(s) || hexID.MatchString(s) && strings.ContainsAny(s, "0123456789") {
			segs[i] = "*"
		}
	}
	return strings.Join(segs, "/")
}

// String is the change's line: count, method, path pattern, old -> new, and the statements.
func (c Change) String() string {
	by := func(s string) string { return cmp.Or(s, "no statement") }
	return fmt.Sprintf("%6d  %s %s  %s -> %s  (%s -> %s)", c.Count, c.Method, c.Path, c.Old, c.New, by(c.OldStatement), by(c.NewStatement))
}
