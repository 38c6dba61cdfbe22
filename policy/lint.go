package policy

import (
	"fmt"
	"strings"
)

// Finding is one trap the linter found in a document.
type Finding struct {
	Source    string `json:"source,omitempty"`
	Statement string `json:"statement"`
	Message   string `json:"message"`
}

func (f Finding) String() string {
	if f.Source != "" {
		return fmt.Sprintf("%s: statement %s: %s", f.Source, f.Statement, f.Message)
	}
	return fmt.Sprintf("statement %s: %s", f.Statement, f.Message)
}

// Lint flags statements that are valid but probably not what their author meant: the pitfalls
// IAM's documentation warns about, carried over to this gateway.
func Lint(d *Document) []Finding {
	var out []Finding
	for i := range d.Statement {
		st := &d.Statement[i]
		add := func(format string, args ...any) {
			out = append(out, Finding{Source: d.Source, Statement: statementName(st, i), Message: fmt.Sprintf(format, args...)})
		}
		deny := st.Effect == "Deny"
		if deny && hasValue(st, "Bool", "mfa:Present", "false") {
			add(`Deny with Bool {"mfa:Present": "false"} does not deny access-key requests, which have no mfa:Present; use BoolIfExists`)
		}
		if deny && hasValue(st, "Null", "mfa:Present", "true") {
			add(`Deny with Null {"mfa:Present": "true"} denies only access-key and anonymous requests, not sessions without MFA; use BoolIfExists {"mfa:Present": "false"}`)
		}
		if !deny && hasValue(st, "Null", "mfa:Present", "false") {
			add(`Allow with Null {"mfa:Present": "false"} allows every session and token, with or without MFA`)
		}
		if !deny && hasValue(st, "BoolIfExists", "mfa:Present", "true") {
			add(`Allow with BoolIfExists {"mfa:Present": "true"} allows long-term access keys without MFA; use Bool if that is not meant`)
		}
		lintAuthenticator(st, deny, add)
		lintVariableNotResource(st, add)
		lintShadowed(d, i, add)
		lintNeverHolds(st, add)
		if !deny && !testsIdentity(st) {
			add(`Allow without a condition on user:* or mfa:* allows anonymous requests too; add {"Null": {"user:Id": "false"}} to demand a signed-in user`)
		}
		for op, byKey := range st.Condition {
			if vals := byKey["mfa:Age"]; len(vals) > 1 {
				add("%s on mfa:Age has %d values, which are OR-ed: only the widest one counts", op, len(vals))
			}
		}
	}
	return out
}

func hasValue(st *Statement, op, key, value string) bool {
	for _, v := range st.Condition[op][key] {
		if v == value {
			return true
		}
	}
	return false
}

func testsIdentity(st *Statement) bool {
	for _, byKey := range st.Condition {
		for k := range byKey {
			if strings.HasPrefix(k, "mfa:") || strings.HasPrefix(k, "user:") {
				return true
			}
		}
	}
	return false
}

// lintAuthenticator flags the same trap for the security-key keys, which exist only for a
// webauthn factor: a Deny on their "bad" value with Bool lets every other factor through.
func lintAuthenticator(st *Statement, deny bool, add func(string, ...any)) {
	if !deny {
		return
	}
	for key, bad := range map[string]string{"mfa:UserVerified": "false", "mfa:BackupEligible": "true"} {
		if hasValue(st, "Bool", key, bad) && !hasValue(st, "StringEquals", "mfa:Method", MethodWebAuthn) {
			add(`Deny with Bool {%q: %q} does not deny factors other than security keys, which have no %s; use BoolIfExists, or deny StringNotEquals {"mfa:Method": "webauthn"} beside it`, key, bad, key)
		}
	}
}
