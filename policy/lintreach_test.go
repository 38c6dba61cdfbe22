package policy

import (
	"strings"
	"testing"
)

// lintOne lints a document of the given statements and returns the findings of statement sid.
func lintOne(t *testing.T, statements, sid string) string {
	t.Helper()
	d, err := Parse("p.json", []byte(`{"Statement": [`+statements+`]}`))
	if err != nil {
		t.Fatalf("%s: %v", statements, err)
	}
	var out []string
	for _, f := range Lint(d) {
		if f.Statement == sid {
			out = append(out, f.Message)
		}
	}
	return strings.Join(out, "\n")
}

const signedIn = `"Condition": {"Null": {"user:Id": "false"}}`

// neverDecides is TestLintNeverDecides's table: want "" means no finding of this kind.
var neverDecides = []struct{ name, statements, sid, want string }{
	{"NotResource with a variable", `{"Sid": "S", "Effect": "Allow", "NotResource": "/home/${user:Id}/*", ` + signedIn + `}`, "S", "allows every resource"},
	{"NotResource with two variables", `{"Sid": "S", "Effect": "Allow", "NotResource": ["/public/*", "/x/${mfa:Method}/${user:Id}"], ` + signedIn + `}`, "S", "allows every resource"},
	{"NotResource literal", `{"Sid": "S", "Effect": "Allow", "NotResource": "/admin/*", ` + signedIn + `}`, "S", ""},
	{"NotResource with a literal ${*}", `{"Sid": "S", "Effect": "Allow", "NotResource": "/a${*}b", ` + signedIn + `}`, "S", ""},
	{"Deny NotResource with a variable", `{"Sid": "S", "Effect": "Deny", "NotResource": "/home/${user:Id}/*"}`, "S", ""},
	{"Resource with a variable", `{"Sid": "S", "Effect": "Allow", "Resource": "/home/${user:Id}/*", ` + signedIn + `}`, "S", ""},

	{"Allow under a blanket Deny", `{"Sid": "D", "Effect": "Deny"}, {"Sid": "A", "Effect": "Allow", ` + signedIn + `}`, "A", "Deny D matches every request"},
	{"Allow before a blanket Deny", `{"Sid": "A", "Effect": "Allow", ` + signedIn + `}, {"Sid": "D", "Effect": "Deny"}`, "A", "Deny D matches every request"},
	{"Deny after a wider Deny", `{"Sid": "D", "Effect": "Deny", "Resource": "/admin/*"}, {"Sid": "E", "Effect": "Deny", "Resource": "/admin/users/*"}`, "E", "Deny D"},
	{"Deny before a wider Deny", `{"Sid": "E", "Effect": "Deny", "Resource": "/admin/users/*"}, {"Sid": "D", "Effect": "Deny", "Resource": "/admin/*"}`, "E", ""},
	{"Deny on all methods", `{"Sid": "D", "Effect": "Deny", "Action": "*", "Resource": "/x"}, {"Sid": "A", "Effect": "Allow", "Action": ["GET", "post"], "Resource": "/x", ` + signedIn + `}`, "A", "Deny D"},
	{"Deny with a method glob", `{"Sid": "D", "Effect": "Deny", "Action": "P*"}, {"Sid": "A", "Effect": "Allow", "Action": ["PUT", "PATCH"], ` + signedIn + `}`, "A", "Deny D"},
	{"Deny on fewer methods", `{"Sid": "D", "Effect": "Deny", "Action": "POST"}, {"Sid": "A", "Effect": "Allow", "Action": ["POST", "GET"], ` + signedIn + `}`, "A", ""},
	{"Deny on a literal resource, Allow on a pattern", `{"Sid": "D", "Effect": "Deny", "Resource": "/api/x"}, {"Sid": "A", "Effect": "Allow", "Resource": "/api/*", ` + signedIn + `}`, "A", ""},
	{"Deny ? does not cover *", `{"Sid": "D", "Effect": "Deny", "Resource": "/api/?"}, {"Sid": "A", "Effect": "Allow", "Resource": "/api/*", ` + signedIn + `}`, "A", ""},
	{"Deny on a pattern, Allow on a wider one", `{"Sid": "D", "Effect": "Deny", "Resource": "/api/v1/*"}, {"Sid": "A", "Effect": "Allow", "Resource": "/api/*", ` + signedIn + `}`, "A", ""},
	{"Deny with a condition the Allow lacks", `{"Sid": "D", "Effect": "Deny", "Condition": {"Bool": {"mfa:Present": "false"}}}, {"Sid": "A", "Effect": "Allow", ` + signedIn + `}`, "A", ""},
	{"Deny with the Allow's condition", `{"Sid": "D", "Effect": "Deny", ` + signedIn + `}, {"Sid": "A", "Effect": "Allow", "Resource": "/x", "Condition": {"Null": {"user:Id": "false"}, "Bool": {"mfa:Present": "true"}}}`, "A", "Deny D"},
	{"Deny with other values", `{"Sid": "D", "Effect": "Deny", "Condition": {"StringEquals": {"user:Groups": "guests"}}}, {"Sid": "A", "Effect": "Allow", "Condition": {"StringEquals": {"user:Groups": ["guests", "staff"]}}}`, "A", ""},
	{"Deny with NotResource", `{"Sid": "D", "Effect": "Deny", "NotResource": "/public/*"}, {"Sid": "A", "Effect": "Allow", "Resource": "/api/*", ` + signedIn + `}`, "A", ""},
	{"Allow with NotAction under an any-method Deny", `{"Sid": "D", "Effect": "Deny", "Resource": "/x"}, {"Sid": "A", "Effect": "Allow", "NotAction": "GET", "Resource": "/x", ` + signedIn + `}`, "A", "Deny D"},
	{"Allow with NotAction under a POST Deny", `{"Sid": "D", "Effect": "Deny", "Action": "POST"}, {"Sid": "A", "Effect": "Allow", "NotAction": "GET", ` + signedIn + `}`, "A", ""},
	{"Allow on a variable resource", `{"Sid": "D", "Effect": "Deny", "Resource": "/home/*"}, {"Sid": "A", "Effect": "Allow", "Resource": "/home/${user:Id}/*", ` + signedIn + `}`, "A", ""},

	{"StringEquals mfa:Present yes", `{"Sid": "S", "Effect": "Deny", "Condition": {"StringEquals": {"mfa:Present": "yes"}}}`, "S", "can never hold: mfa:Present is one of true, false"},
	{"StringEquals mfa:Present true", `{"Sid": "S", "Effect": "Deny", "Condition": {"StringEquals": {"mfa:Present": "true"}}}`, "S", ""},
	{"StringEqualsIgnoreCase mfa:Present TRUE", `{"Sid": "S", "Effect": "Deny", "Condition": {"StringEqualsIgnoreCase": {"mfa:Present": "TRUE"}}}`, "S", ""},
	{"StringEquals mfa:Present TRUE", `{"Sid": "S", "Effect": "Deny", "Condition": {"StringEquals": {"mfa:Present": "TRUE"}}}`, "S", "can never hold"},
	{"StringEquals mfa:Age old", `{"Sid": "S", "Effect": "Deny", "Condition": {"StringEquals": {"mfa:Age": "old"}}}`, "S", "whole number of seconds"},
	{"StringEquals mfa:Age 90", `{"Sid": "S", "Effect": "Deny", "Condition": {"StringEquals": {"mfa:Age": "90"}}}`, "S", ""},
	{"StringLike mfa:Age 1*", `{"Sid": "S", "Effect": "Deny", "Condition": {"StringLike": {"mfa:Age": "1*"}}}`, "S", ""},
	{"StringEquals mfa:Age -1", `{"Sid": "S", "Effect": "Deny", "Condition": {"StringEquals": {"mfa:Age": "-1"}}}`, "S", "whole number"},
	{"StringEquals mfa:Method totp", `{"Sid": "S", "Effect": "Deny", "Condition": {"StringEquals": {"mfa:Method": "totp"}}}`, "S", "mfa:Method is one of virtual, hardware"},
	{"StringEquals mfa:Method one of two", `{"Sid": "S", "Effect": "Deny", "Condition": {"StringEquals": {"mfa:Method": ["totp", "sms"]}}}`, "S", ""},
	{"StringLike mfa:Method web*", `{"Sid": "S", "Effect": "Deny", "Condition": {"StringLike": {"mfa:Method": "web*"}}}`, "S", ""},
	{"StringNotEquals mfa:Method totp", `{"Sid": "S", "Effect": "Deny", "Condition": {"StringNotEquals": {"mfa:Method": "totp"}}}`, "S", ""},
	{"StringEquals user:AuthType cookie", `{"Sid": "S", "Effect": "Deny", "Condition": {"StringEquals": {"user:AuthType": "cookie"}}}`, "S", "user:AuthType is one of anonymous"},
	{"StringEquals user:Id anything", `{"Sid": "S", "Effect": "Deny", "Condition": {"StringEquals": {"user:Id": "whoever"}}}`, "S", ""},
	{"StringEquals with a variable", `{"Sid": "S", "Effect": "Deny", "Condition": {"StringEquals": {"mfa:Method": "${user:Id}"}}}`, "S", ""},
	{"absent and present", `{"Sid": "S", "Effect": "Deny", "Condition": {"Null": {"mfa:Age": "true"}, "NumericGreaterThan": {"mfa:Age": "60"}}}`, "S", "cannot be both absent and present"},
	{"absent or IfExists", `{"Sid": "S", "Effect": "Deny", "Condition": {"Null": {"mfa:Age": "true"}, "NumericGreaterThanIfExists": {"mfa:Age": "60"}}}`, "S", ""},
	{"absent and a negated test", `{"Sid": "S", "Effect": "Deny", "Condition": {"Null": {"mfa:Method": "true"}, "StringNotEquals": {"mfa:Method": "sms"}}}`, "S", ""},
}

// TestLintNeverDecides: variables in an Allow's NotResource, statements a Deny shadows, and
// conditions that can never hold are flagged; near misses of each are not.
func TestLintNeverDecides(t *testing.T) {
	for _, tc := range neverDecides {
		t.Run(tc.name, func(t *testing.T) {
			got := lintOne(t, tc.statements, tc.sid)
			kind := []string{"allows every resource", "never decides", "can never hold"}
			if tc.want == "" {
				for _, k := range kind {
					if strings.Contains(got, k) {
						t.Errorf("flagged: %s", got)
					}
				}
				return
			}
			if !strings.Contains(got, tc.want) {
				t.Errorf("findings %q, want mention of %q", got, tc.want)
			}
		})
	}
}

// TestNearMissNames: a misspelt key, variable or operator is refused with the name it most
// likely meant; a name far from every one is refused with the list.
func TestNearMissNames(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{`{"Statement": {"Effect": "Deny", "Condition": {"Bool": {"mfa:present": "false"}}}}`, `unknown condition key "mfa:present": did you mean mfa:Present?`},
		{`{"Statement": {"Effect": "Deny", "Condition": {"NumericGreaterThan": {"mfa:age": "60"}}}}`, `"mfa:age": did you mean mfa:Age?`},
		{`{"Statement": {"Effect": "Deny", "Condition": {"NumericGreaterThan": {"mfa:Ag": "60"}}}}`, `did you mean mfa:Age?`},
		{`{"Statement": {"Effect": "Deny", "Condition": {"StringEquals": {"user:Group": "x"}}}}`, `did you mean user:Groups?`},
		{`{"Statement": {"Effect": "Deny", "Condition": {"StringEquals": {"usr:Idd": "x"}}}}`, `did you mean user:Id?`},
		{`{"Statement": {"Effect": "Deny", "Condition": {"StringEquals": {"req:SourceIP": "x"}}}}`, `did you mean req:SourceIp?`},
		{`{"Statement": {"Effect": "Deny", "Condition": {"StringEquals": {"aws:username": "x"}}}}`, `unknown condition key "aws:username" (known: mfa:Present,`},
		{`{"Statement": {"Effect": "Deny", "Condition": {"StringEqual": {"user:Id": "x"}}}}`, `unknown condition operator "StringEqual": did you mean StringEquals?`},
		{`{"Statement": {"Effect": "Deny", "Condition": {"boolifexists": {"mfa:Present": "false"}}}}`, `did you mean BoolIfExists?`},
		{`{"Statement": {"Effect": "Deny", "Condition": {"Whatever": {"mfa:Present": "false"}}}}`, `unknown condition operator "Whatever"`},
		{`{"Statement": {"Effect": "Allow", "Resource": "/home/${user:id}/*"}}`, `unknown variable ${user:id}: did you mean ${user:Id}?`},
		{`{"Statement": {"Effect": "Deny", "Condition": {"Bool": {"mfa:Age": "true"}}}}`, `Bool cannot test mfa:Age, which is not a boolean key`},
	} {
		_, err := Parse("p.json", []byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.doc, err, tc.want)
		}
	}
}
