package policy

import (
	"slices"
	"strings"
)

// lintNeverHolds flags conditions that no request can satisfy: a string operator comparing a
// typed key with a value outside the key's values (mfa:Present with "yes", mfa:Age with "old",
// mfa:Method with "totp"), and a key required both absent and present. Operators of the wrong
// type (Bool on mfa:Age) are refused when the document is parsed.
func lintNeverHolds(st *Statement, add func(string, ...any)) {
	for _, op := range sortedKeys(st.Condition) {
		base, ifExists := strings.CutSuffix(op, "IfExists")
		o := operators[base]
		for _, name := range sortedKeys(st.Condition[op]) {
			k, known := lookupKey(name)
			if !known {
				continue
			}
			if hasValue(st, "Null", name, "true") && o != nil && !o.negated && !ifExists {
				add("%s on %s can never hold beside Null {%q: \"true\"}: the key cannot be both absent and present", op, name, name)
			}
			if o == nil || o.typ != typeString || o.negated {
				continue
			}
			vals := st.Condition[op][name]
			if keys[k].typ == typeNumber {
				if !slices.ContainsFunc(vals, func(v string) bool { return mayBeNumber(v, o.like) }) {
					add("%s on %s can never hold: %s is a whole number of seconds", op, name, name)
				}
				continue
			}
			domain := keyDomain(k)
			if domain != nil && !slices.ContainsFunc(vals, func(v string) bool { return mayEqual(v, domain, base == "StringEqualsIgnoreCase", o.like) }) {
				add("%s on %s can never hold: %s is one of %s", op, name, name, strings.Join(domain, ", "))
			}
		}
	}
}

// keyDomain is every value a key can have, when that is a short list.
func keyDomain(k key) []string {
	switch {
	case keys[k].typ == typeBool:
		return []string{"true", "false"}
	case k == keyMFAMethod:
		return MethodNames
	case k == keyUserAuthType:
		return AuthTypes
	}
	return nil
}

// mayEqual reports whether a condition value may equal a member of the domain; one with a
// variable may.
func mayEqual(v string, domain []string, fold, like bool) bool {
	if strings.Contains(v, "${") {
		return true
	}
	for _, d := range domain {
		if v == d || fold && strings.EqualFold(v, d) || like && glob(wildcards(v), d) {
			return true
		}
	}
	return false
}

// mayBeNumber reports whether a value may equal a whole number's digits: it is digits, and for
// StringLike wildcards too.
func mayBeNumber(v string, like bool) bool {
	if strings.Contains(v, "${") {
		return true
	}
	if like {
		v = strings.NewReplacer("*", "0", "?", "0").Replace(v)
	}
	return v != "" && strings.Trim(v, "0123456789") == ""
}
