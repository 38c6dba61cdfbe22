package policy

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// The credential kinds of the IAM truth table, plus anonymous.
func longTerm() *Context { // long-term access key: mfa:Present absent
	return &Context{UserID: "alice", AuthType: AuthAccessKey, Method: "GET", Path: "/api/x", Time: now}
}
func noMFA() *Context { // session or token without MFA: mfa:Present false
	return &Context{UserID: "alice", AuthType: AuthToken, Method: "GET", Path: "/api/x", Time: now}
}
func withMFA(age time.Duration, method string) *Context {
	return &Context{UserID: "alice", AuthType: AuthToken, MFAPresent: true, MFATime: now.Add(-age), MFAMethod: method,
		Method: "GET", Path: "/api/x", Time: now}
}
func anonymous() *Context {
	return &Context{AuthType: AuthAnonymous, Method: "GET", Path: "/api/x", Time: now}
}

func mustSet(t *testing.T, doc string) *Set {
	t.Helper()
	d, err := Parse("test.json", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Compile(d)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// stmt wraps one statement and, for Deny statements, an Allow of everything, so the table
// reads as IAM's: the cell is what the statement does.
func stmt(effect, cond string) string {
	s := `{"Statement": [{"Sid": "S", "Effect": "` + effect + `", "Action": "*", "Resource": "*", "Condition": ` + cond + `}`
	if effect == "Deny" {
		s += `, {"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"}`
	}
	return s + `]}`
}

// TestIAMTruthTable is section 6.3 of the reference: each documented MFA condition against
// long-term keys, temporary credentials without MFA and with MFA.
func TestIAMTruthTable(t *testing.T) {
	type verdict = Decision
	const A, ID, ED = Allowed, ImplicitDeny, ExplicitDeny
	cases := []struct {
		name, effect, cond string
		lt, noMFA, mfa     verdict
		mfaAge             time.Duration
		mfaOld             verdict // the same with a factor two hours old, where age matters
	}{
		{"Allow Bool true", "Allow", `{"Bool": {"mfa:Present": "true"}}`, ID, ID, A, 0, A},
		{"Allow BoolIfExists true", "Allow", `{"BoolIfExists": {"mfa:Present": "true"}}`, A, ID, A, 0, A},
		{"Deny Bool false (not recommended)", "Deny", `{"Bool": {"mfa:Present": "false"}}`, A, ED, A, 0, A},
		{"Deny BoolIfExists false (recommended)", "Deny", `{"BoolIfExists": {"mfa:Present": "false"}}`, ED, ED, A, 0, A},
		{"Allow Null false (use with caution)", "Allow", `{"Null": {"mfa:Present": "false"}}`, ID, A, A, 0, A},
		{"Deny Null true", "Deny", `{"Null": {"mfa:Present": "true"}}`, ED, A, A, 0, A},
		{"Allow NumericLessThanEquals Age 3600", "Allow", `{"NumericLessThanEquals": {"mfa:Age": "3600"}}`, ID, ID, A, 0, ID},
		{"Deny NumericGreaterThanIfExists Age 1800", "Deny", `{"NumericGreaterThanIfExists": {"mfa:Age": "1800"}}`, ED, ED, A, 0, ED},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := mustSet(t, stmt(c.effect, c.cond))
			for _, row := range []struct {
				who  string
				ctx  *Context
				want Decision
			}{{"long-term key", longTerm(), c.lt}, {"no MFA", noMFA(), c.noMFA}, {"MFA now", withMFA(c.mfaAge, "virtual"), c.mfa},
				{"MFA 2h ago", withMFA(2*time.Hour, "virtual"), c.mfaOld}} {
				if got := s.Evaluate(row.ctx).Decision; got != row.want {
					t.Errorf("%s: %v, want %v", row.who, got, row.want)
				}
			}
		})
	}
}

func TestEvaluationOrder(t *testing.T) {
	s := mustSet(t, `{"Statement": [
		{"Sid": "AllowAll", "Effect": "Allow", "Action": "*", "Resource": "*"},
		{"Sid": "DenyAdmin", "Effect": "Deny", "Action": "*", "Resource": "/admin/*"},
		{"Sid": "AllowAdminAgain", "Effect": "Allow", "Action": "*", "Resource": "/admin/*"}]}`)
	ctx := noMFA()
	ctx.Path = "/admin/x"
	r := s.Evaluate(ctx)
	if r.Decision != ExplicitDeny || r.By.Sid != "DenyAdmin" || r.By.Source != "test.json" {
		t.Fatalf("an explicit deny must override every allow: %v by %v", r.Decision, r.By)
	}
	ctx.Path = "/other"
	if r := s.Evaluate(ctx); r.Decision != Allowed || r.By.Sid != "AllowAll" {
		t.Fatalf("allow: %v by %v", r.Decision, r.By)
	}
	empty := mustSet(t, `{"Statement": [{"Effect": "Allow", "Action": "POST", "Resource": "/x"}]}`)
	if r := empty.Evaluate(ctx); r.Decision != ImplicitDeny || r.By != nil {
		t.Fatalf("nothing applies: %v by %v", r.Decision, r.By)
	}
}

func TestActionsAndResources(t *testing.T) {
	s := mustSet(t, `{"Statement": [
		{"Sid": "Reads", "Effect": "Allow", "Action": ["GET", "head"], "Resource": "/api/*"},
		{"Sid": "NotWrites", "Effect": "Allow", "NotAction": ["POST", "PUT", "PATCH", "DELETE"], "Resource": "/open/*"},
		{"Sid": "Host", "Effect": "Allow", "Action": "*", "Resource": "api.example.com/v?/*"},
		{"Sid": "Own", "Effect": "Allow", "Action": "*", "Resource": "/files/${user:Id}/*"},
		{"Sid": "NotPriv", "Effect": "Allow", "Action": "OPTIONS", "NotResource": ["/private/*", "/secret"]}]}`)
	cases := []struct {
		method, host, path string
		want               string // deciding Sid, "" for implicit deny
	}{
		{"GET", "x", "/api/users", "Reads"},
		{"HEAD", "x", "/api/users", "Reads"},
		{"POST", "x", "/api/users", ""},
		{"GET", "x", "/apix", ""},
		{"GET", "x", "/open/a", "NotWrites"},
		{"DELETE", "x", "/open/a", ""},
		{"DELETE", "api.example.com", "/v1/thing", "Host"},
		{"DELETE", "api.example.com", "/v12/thing", ""},
		{"DELETE", "other.example.com", "/v1/thing", ""},
		{"PUT", "x", "/files/alice/a.txt", "Own"},
		{"PUT", "x", "/files/bob/a.txt", ""},
		{"OPTIONS", "x", "/public", "NotPriv"},
		{"OPTIONS", "x", "/private/a", ""},
	}
	for _, c := range cases {
		ctx := noMFA()
		ctx.Method, ctx.Host, ctx.Path = c.method, c.host, c.path
		r := s.Evaluate(ctx)
		got := ""
		if r.Decision == Allowed {
			got = r.By.Sid
		}
		if got != c.want {
			t.Errorf("%s %s%s: decided by %q, want %q", c.method, c.host, c.path, got, c.want)
		}
	}
	// A variable whose key is absent matches nothing.
	ctx := anonymous()
	ctx.Path = "/files//a.txt"
	if s.Evaluate(ctx).Decision == Allowed {
		t.Error("${user:Id} of an anonymous request matched an empty segment")
	}
}

func TestOperators(t *testing.T) {
	ctx := withMFA(100*time.Second, "webauthn")
	ctx.Groups = []string{"dev", "admins"}
	ctx.Host, ctx.Secure, ctx.SourceIP = "Example.com", true, netip.MustParseAddr("10.1.2.3")
	cases := []struct {
		cond string
		want bool
	}{
		{`{"StringEquals": {"user:Id": "alice"}}`, true},
		{`{"StringEquals": {"user:Id": ["bob", "alice"]}}`, true},
		{`{"StringNotEquals": {"user:Id": "alice"}}`, false},
		{`{"StringEqualsIgnoreCase": {"req:Host": "example.COM"}}`, true},
		{`{"StringNotEqualsIgnoreCase": {"req:Host": "example.COM"}}`, false},
		{`{"StringLike": {"req:Path": "/api/*"}}`, true},
		{`{"StringNotLike": {"req:Path": "/api/*"}}`, false},
		{`{"StringEquals": {"user:Groups": "admins"}}`, true},
		{`{"StringNotEquals": {"user:Groups": "admins"}}`, false},
		{`{"StringNotEquals": {"user:Groups": "ops"}}`, true},
		{`{"StringEquals": {"mfa:Method": "${mfa:Method}"}}`, true},
		{`{"NumericEquals": {"mfa:Age": "100"}}`, true},
		{`{"NumericNotEquals": {"mfa:Age": 100}}`, false},
		{`{"NumericLessThan": {"mfa:Age": "100"}}`, false},
		{`{"NumericLessThanEquals": {"mfa:Age": "100"}}`, true},
		{`{"NumericGreaterThan": {"mfa:Age": "99"}}`, true},
		{`{"NumericGreaterThanEquals": {"mfa:Age": "101"}}`, false},
		{`{"Bool": {"mfa:PhishingResistant": "true"}}`, true},
		{`{"Bool": {"req:Secure": false}}`, false},
		{`{"IpAddress": {"req:SourceIp": "10.0.0.0/8"}}`, true},
		{`{"IpAddress": {"req:SourceIp": ["192.168.0.0/16", "10.1.2.3"]}}`, true},
		{`{"NotIpAddress": {"req:SourceIp": "10.0.0.0/8"}}`, false},
		{`{"DateLessThan": {"req:Time": "2027-01-01T00:00:00Z"}}`, true},
		{`{"DateGreaterThan": {"req:Time": "2027-01-01"}}`, false},
		{`{"DateGreaterThanEquals": {"req:Time": "2026-11-29T12:00:00Z"}}`, true},
		{`{"DateEquals": {"req:Time": "1795953600"}}`, true},
		{`{"DateNotEquals": {"req:Time": "1795953600"}}`, false},
		{`{"Null": {"mfa:Age": "false"}}`, true},
		{`{"Null": {"mfa:Age": "true"}}`, false},
		{`{"StringEquals": {"user:Id": "alice", "user:AuthType": "token"}}`, true},
		{`{"StringEquals": {"user:Id": "alice"}, "Bool": {"mfa:Present": "false"}}`, false},
	}
	for _, c := range cases {
		s := mustSet(t, `{"Statement": {"Effect": "Allow", "Condition": `+c.cond+`}}`)
		if got := s.Evaluate(ctx).Decision == Allowed; got != c.want {
			t.Errorf("%s: %v, want %v", c.cond, got, c.want)
		}
	}
}

func TestAbsentKeys(t *testing.T) {
	ctx := longTerm() // no mfa:* keys, no groups
	cases := []struct {
		cond string
		want bool
	}{
		{`{"StringEquals": {"mfa:Method": "virtual"}}`, false},
		{`{"StringEqualsIfExists": {"mfa:Method": "virtual"}}`, true},
		{`{"NumericLessThan": {"mfa:Age": "900"}}`, false},
		{`{"NumericLessThanIfExists": {"mfa:Age": "900"}}`, true},
		{`{"Bool": {"mfa:Present": "true"}}`, false},
		{`{"Bool": {"mfa:Present": "false"}}`, false},
		{`{"BoolIfExists": {"mfa:Present": "false"}}`, true},
		{`{"Null": {"mfa:Present": "true"}}`, true},
		{`{"StringEquals": {"user:Groups": "admins"}}`, false},
		// Negated operators hold when the key is absent, as in IAM ("the right key is not present").
		{`{"StringNotEquals": {"mfa:Method": "webauthn"}}`, true},
		{`{"StringNotLike": {"user:Groups": "adm*"}}`, true},
	}
	for _, c := range cases {
		s := mustSet(t, `{"Statement": {"Effect": "Allow", "Condition": `+c.cond+`}}`)
		if got := s.Evaluate(ctx).Decision == Allowed; got != c.want {
			t.Errorf("%s with the key absent: %v, want %v", c.cond, got, c.want)
		}
	}
}

func TestRefusedDocuments(t *testing.T) {
	cases := []struct{ doc, want string }{
		{`not json`, "policy bad.json: not a valid policy document"},
		{`{"Statement": []}`, "Statement: must not be empty"},
		{`{"Statement": [{"Effect": "Maybe"}]}`, "statement #1: Effect"},
		{`{"Statement": [{"Sid": "X", "Effect": "Allow", "Resource": "api/*"}]}`, `statement X: Resource: "api/*"`},
		{`{"Statement": [{"Effect": "Allow", "Resource": "admin"}]}`, "Resource"},
		{`{"Statement": [{"Effect": "Allow", "Action": "GE T"}]}`, "Action"},
		{`{"Statement": [{"Effect": "Allow", "Action": "GET", "NotAction": "POST"}]}`, "NotAction"},
		{`{"Statement": [{"Effect": "Allow", "Condition": {"StringEqualz": {"user:Id": "a"}}}]}`, `unknown condition operator "StringEqualz"`},
		{`{"Statement": [{"Effect": "Allow", "Condition": {"StringEquals": {"aws:username": "a"}}}]}`, `unknown condition key "aws:username"`},
		{`{"Statement": [{"Effect": "Allow", "Condition": {"NumericLessThan": {"mfa:Age": "soon"}}}]}`, `"soon" is not a number`},
		{`{"Statement": [{"Effect": "Allow", "Condition": {"NumericLessThan": {"user:Id": "3"}}}]}`, "cannot test user:Id"},
		{`{"Statement": [{"Effect": "Allow", "Condition": {"Bool": {"mfa:Present": "yes"}}}]}`, "not true or false"},
		{`{"Statement": [{"Effect": "Allow", "Condition": {"IpAddress": {"req:SourceIp": "10.0.0.300"}}}]}`, "not an IP address"},
		{`{"Statement": [{"Effect": "Allow", "Condition": {"DateLessThan": {"req:Time": "tomorrow"}}}]}`, "not a date"},
		{`{"Statement": [{"Effect": "Allow", "Condition": {"NullIfExists": {"mfa:Age": "true"}}}]}`, "unknown condition operator"},
		{`{"Statement": [{"Effect": "Allow", "Condition": {"Null": {"mfa:Age": "maybe"}}}]}`, "Null mfa:Age"},
		{`{"Statement": [{"Effect": "Allow", "Resource": "/files/${user:Name}/*"}]}`, "unknown variable ${user:Name}"},
		{`{"Statement": [{"Effect": "Allow", "Resource": "/g/${user:Groups}"}]}`, "several values"},
		{`{"Statement": [{"Effect": "Allow", "Actions": "GET"}]}`, `unknown field "Actions"`},
	}
	for _, c := range cases {
		_, err := Parse("bad.json", []byte(c.doc))
		var pe *Error
		if err == nil || !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "policy bad.json") {
			t.Errorf("%s: error %v, want one naming the file and containing %q", c.doc, err, c.want)
		}
	}
}

func TestRemedy(t *testing.T) {
	s := mustSet(t, `{"Statement": [
		{"Sid": "SignedIn", "Effect": "Allow", "Condition": {"Null": {"user:Id": "false"}}},
		{"Sid": "Fresh", "Effect": "Deny", "Condition": {"NumericGreaterThanIfExists": {"mfa:Age": "900"}}},
		{"Sid": "Key", "Effect": "Deny", "Resource": "/admin/*", "Condition": {"StringNotEquals": {"mfa:Method": "webauthn"}}},
		{"Sid": "Ops", "Effect": "Deny", "Resource": "/ops/*", "Condition": {"StringNotEquals": {"user:Groups": "ops"}}}]}`)
	check := func(name string, ctx *Context, want Remedy, methods ...string) {
		t.Helper()
		ch := s.Remedy(ctx)
		if ch.Remedy != want || strings.Join(ch.Methods, ",") != strings.Join(methods, ",") || ch.MaxAge != 900 {
			t.Errorf("%s: %v %v max_age %d; want %v %v max_age 900", name, ch.Remedy, ch.Methods, ch.MaxAge, want, methods)
		}
	}
	check("anonymous", anonymous(), RemedyLogin)
	check("session without MFA", noMFA(), RemedyMFA, Methods...)
	check("factor too old", withMFA(time.Hour, "virtual"), RemedyMFA, Methods...)
	check("access key", longTerm(), RemedyMFA, Methods...)
	admin := withMFA(0, "virtual")
	admin.Path = "/admin/x"
	check("admin with TOTP", admin, RemedyMFA, "webauthn")
	ops := withMFA(0, "virtual")
	ops.Path = "/ops/x"
	check("not in ops", ops, RemedyForbidden)
}

func TestShortcutsCompileToStatements(t *testing.T) {
	sc := Shortcuts{RequireMFA: true, MaxAge: 15 * time.Minute, Methods: []string{"webauthn"}, Groups: []string{"admins"}}
	s, err := Compile(sc.Document(true))
	if err != nil {
		t.Fatal(err)
	}
	admin := func(age time.Duration, method string) *Context {
		c := withMFA(age, method)
		c.Groups = []string{"admins"}
		return c
	}
	cases := []struct {
		name string
		ctx  *Context
		want Decision
		by   string
	}{
		{"fresh key, admin", admin(time.Minute, "webauthn"), Allowed, "SignedIn"},
		{"stale key", admin(16*time.Minute, "webauthn"), ExplicitDeny, "MaxAge"},
		{"TOTP", admin(time.Minute, "virtual"), ExplicitDeny, "Methods"},
		{"not an admin", withMFA(time.Minute, "webauthn"), ExplicitDeny, "Groups"},
		{"no MFA", noMFA(), ExplicitDeny, "RequireMFA"},
		{"access key", longTerm(), ExplicitDeny, "RequireMFA"},
		{"anonymous", anonymous(), ExplicitDeny, "RequireMFA"},
	}
	for _, c := range cases {
		r := s.Evaluate(c.ctx)
		if r.Decision != c.want || r.By == nil || r.By.Sid != c.by {
			t.Errorf("%s: %v by %v, want %v by %s", c.name, r.Decision, r.By, c.want, c.by)
		}
	}
	keys, _ := Compile(Shortcuts{RequireMFA: true, AllowAccessKeys: true}.Document(true))
	if r := keys.Evaluate(longTerm()); r.Decision != Allowed {
		t.Errorf("allow_access_keys: an access key alone is %v", r.Decision)
	}
	if r := keys.Evaluate(noMFA()); r.Decision != ExplicitDeny {
		t.Errorf("allow_access_keys: a session without MFA is %v", r.Decision)
	}
}

func TestLint(t *testing.T) {
	d, err := Parse("p.json", []byte(`{"Statement": [
		{"Sid": "Trap", "Effect": "Deny", "Condition": {"Bool": {"mfa:Present": "false"}}},
		{"Sid": "Open", "Effect": "Allow", "Action": "GET", "Resource": "/api/*"},
		{"Sid": "Caution", "Effect": "Allow", "Condition": {"Null": {"mfa:Present": "false"}}},
		{"Sid": "Ages", "Effect": "Allow", "Condition": {"NumericLessThan": {"mfa:Age": ["2700", "3600"]}}},
		{"Sid": "Fine", "Effect": "Deny", "Condition": {"BoolIfExists": {"mfa:Present": "false"}}},
		{"Sid": "UV", "Effect": "Deny", "Condition": {"Bool": {"mfa:UserVerified": "false"}}},
		{"Sid": "KeysOnly", "Effect": "Deny", "Condition": {"Bool": {"mfa:BackupEligible": "true"}, "StringEquals": {"mfa:Method": "webauthn"}}},
		{"Sid": "Synced", "Effect": "Deny", "Condition": {"Bool": {"mfa:BackupEligible": "true"}}},
		{"Sid": "FineUV", "Effect": "Deny", "Condition": {"BoolIfExists": {"mfa:UserVerified": "false"}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, f := range Lint(d) {
		found[f.Statement] += f.Message
	}
	for sid, want := range map[string]string{"Trap": "use BoolIfExists", "Open": "anonymous", "Caution": "with or without MFA", "Ages": "OR-ed",
		"UV": "other than security keys", "Synced": "other than security keys"} {
		if !strings.Contains(found[sid], want) {
			t.Errorf("lint of %s: %q, want mention of %q", sid, found[sid], want)
		}
	}
	for _, sid := range []string{"Fine", "FineUV", "KeysOnly"} {
		if found[sid] != "" {
			t.Errorf("lint flagged the recommended pattern %s: %s", sid, found[sid])
		}
	}
}

func TestGlob(t *testing.T) {
	cases := []struct {
		p, s string
		want bool
	}{
		{"*", "", true}, {"/a/*", "/a/", true}, {"/a/*", "/a", false}, {"/a/*/c", "/a/b/x/c", true},
		{"?", "", false}, {"/v?/x", "/v1/x", true}, {"a*b*c", "aXbYbZc", true}, {"a*b*c", "aXbYbZ", false},
		{"**", "abc", true}, {"abc", "abc", true}, {"abc", "abd", false},
	}
	for _, c := range cases {
		if got := glob(wildcards(c.p), c.s); got != c.want {
			t.Errorf("glob(%q, %q) = %v", c.p, c.s, got)
		}
	}
}
