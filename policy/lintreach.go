package policy

import (
	"slices"
	"strings"
)

// The linter's checks for statements that never do what they say: they match everything, are
// never reached, or test for a value the key can never have.

// lintVariableNotResource flags an Allow whose NotResource holds a variable: when the key is
// absent the pattern matches nothing (IAM), so NotResource matches every resource.
func lintVariableNotResource(st *Statement, add func(string, ...any)) {
	if st.Effect != "Allow" {
		return
	}
	for _, r := range st.NotResource {
		if strings.Contains(strings.NewReplacer("${*}", "", "${?}", "", "${$}", "").Replace(r), "${") {
			add("Allow with NotResource %q holds a variable: when its key is absent (an anonymous caller has no user:Id) the pattern matches nothing, so the statement allows every resource", r)
			return
		}
	}
}

// lintShadowed flags statement i when a Deny matches every request it does: an Allow then never
// decides (an explicit deny wins wherever it stands), nor does a Deny after that one.
func lintShadowed(d *Document, i int, add func(string, ...any)) {
	st := &d.Statement[i]
	for j := range d.Statement {
		by := &d.Statement[j]
		if j == i || by.Effect != "Deny" || st.Effect == "Deny" && j > i {
			continue
		}
		if covers(by, st) {
			add("never decides: Deny %s matches every request this statement matches, and an explicit deny wins", statementName(by, j))
			return
		}
	}
}

// covers reports whether every request st matches is matched by deny too. It errs towards no:
// patterns must contain one another literally, and deny's conditions must appear in st as they
// are written (st then holds them all and more).
func covers(deny, st *Statement) bool {
	if len(deny.NotAction) > 0 || len(deny.NotResource) > 0 {
		return false
	}
	if !listCovers(deny.Action, st.Action, len(st.NotAction) > 0, strings.ToUpper) {
		return false
	}
	if !listCovers(deny.Resource, st.Resource, len(st.NotResource) > 0, func(s string) string { return s }) {
		return false
	}
	for op, byKey := range deny.Condition {
		for k, vals := range byKey {
			if !sameValues(st.Condition[op][k], vals) {
				return false
			}
		}
	}
	return true
}

// listCovers reports whether the patterns of outer match everything those of inner do; an
// empty list or "*" matches everything, and a negated inner only an everything outer covers.
func listCovers(outer, inner StringList, innerNegated bool, norm func(string) string) bool {
	if len(outer) == 0 || slices.Contains(outer, "*") {
		return true
	}
	if innerNegated || len(inner) == 0 {
		return false
	}
	for _, in := range inner {
		if !slices.ContainsFunc(outer, func(out string) bool { return patternCovers(norm(out), norm(in)) }) {
			return false
		}
	}
	return true
}

// patternCovers: a pattern covers another when they are the same, when it matches the other
// read as a literal (the other having no wildcard), or when it is a literal prefix and a final
// * and the other starts with that prefix. Variables stay literal, so only the same pattern
// covers one.
func patternCovers(outer, inner string) bool {
	if outer == inner {
		return true
	}
	if strings.Contains(outer, "${") || strings.Contains(inner, "${") {
		return false
	}
	if !strings.ContainsAny(inner, "*?") {
		return glob(wildcards(outer), inner)
	}
	prefix, ok := strings.CutSuffix(outer, "*")
	return ok && !strings.ContainsAny(prefix, "*?") && strings.HasPrefix(inner, prefix)
}

func sameValues(a, b StringList) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}
