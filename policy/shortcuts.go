package policy

import (
	"strconv"
	"time"
)

// Shortcuts are the Caddyfile's one-line rules. They compile to ordinary statements, so they
// behave exactly as the same statements written in a document would.
type Shortcuts struct {
	RequireMFA      bool
	MaxAge          time.Duration // 0: no limit
	Methods         []string      // empty: any method
	Groups          []string      // empty: any group
	AllowAccessKeys bool          // a long-term access key alone is let through the rules above
}

// Document compiles the shortcuts. With withBase, a final Allow lets in every signed-in caller
// that no shortcut denies (the handler has no policy files of its own).
func (s Shortcuts) Document(withBase bool) *Document {
	d := &Document{Version: "2026-11-01", Source: "caddyfile"}
	deny := func(sid, op, key string, values ...string) {
		cond := map[string]map[string]StringList{op: {key: values}}
		if s.AllowAccessKeys {
			cond["StringNotEquals"] = map[string]StringList{"user:AuthType": {AuthAccessKey}}
		}
		d.Statement = append(d.Statement, Statement{Sid: sid, Effect: "Deny", Condition: cond})
	}
	if s.RequireMFA {
		deny("RequireMFA", "BoolIfExists", "mfa:Present", "false")
	}
	if s.MaxAge > 0 {
		deny("MaxAge", "NumericGreaterThanIfExists", "mfa:Age", strconv.FormatInt(int64(s.MaxAge/time.Second), 10))
	}
	if len(s.Methods) > 0 {
		deny("Methods", "StringNotEquals", "mfa:Method", s.Methods...)
	}
	if len(s.Groups) > 0 {
		d.Statement = append(d.Statement, Statement{Sid: "Groups", Effect: "Deny",
			Condition: map[string]map[string]StringList{"StringNotEquals": {"user:Groups": s.Groups}}})
	}
	if withBase {
		d.Statement = append(d.Statement, Statement{Sid: "SignedIn", Effect: "Allow",
			Condition: map[string]map[string]StringList{"Null": {"user:Id": {"false"}}}})
	}
	return d
}
