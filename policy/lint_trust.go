package policy

import "strings"

// LintTrust flags what Lint flags, and, since a trust policy decides who may take on a role, every
// Allow that admits a caller without a factor: an anonymous caller, or a long-term access key
// alone. A statement admits only callers with a factor when it requires mfa:Present true, an
// mfa:Age, or an mfa:Method (all absent without one) without an ...IfExists.
func LintTrust(d *Document) []Finding {
	out := Lint(d)
	for i := range d.Statement {
		st := &d.Statement[i]
		if st.Effect != "Allow" || requiresFactor(st) {
			continue
		}
		msg := `trust policy: Allow without a factor lets access-key-only callers assume the role; require {"Bool": {"mfa:Present": "true"}} and an mfa:Age limit`
		if len(st.Condition) == 0 {
			msg = `trust policy: Allow without a condition lets anyone assume the role, even anonymous and access-key-only callers; require {"Bool": {"mfa:Present": "true"}} and an mfa:Age limit`
		}
		out = append(out, Finding{Source: d.Source, Statement: statementName(st, i), Message: msg})
	}
	return out
}

// requiresFactor reports a statement whose conditions hold only for a caller who passed a factor.
func requiresFactor(st *Statement) bool {
	if hasValue(st, "Bool", "mfa:Present", "true") || hasValue(st, "Null", "mfa:Age", "false") || hasValue(st, "Null", "mfa:Method", "false") {
		return true
	}
	for op, byKey := range st.Condition {
		if strings.HasSuffix(op, "IfExists") || strings.Contains(op, "Not") || op == "Null" {
			continue
		}
		if len(byKey["mfa:Age"]) > 0 || len(byKey["mfa:Method"]) > 0 {
			return true
		}
	}
	return false
}
