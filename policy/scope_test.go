package policy

import (
	"strings"
	"testing"
	"time"
)

func scopeSet(t *testing.T, doc string) *Set {
	t.Helper()
	if doc == "" {
		return nil
	}
	d, err := Parse("test", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Compile(d)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const (
	allowAll    = `{"Statement":[{"Sid":"All","Effect":"Allow","Condition":{"Null":{"user:Id":"false"}}}]}`
	allowReads  = `{"Statement":[{"Sid":"Reads","Effect":"Allow","Action":"GET","Resource":"/app/*"}]}`
	denyReports = `{"Statement":[{"Sid":"All","Effect":"Allow"},{"Sid":"NoReports","Effect":"Deny","Resource":"/app/reports/*"}]}`
	needMFA     = `{"Statement":[{"Sid":"MFA","Effect":"Allow","Condition":{"Bool":{"mfa:Present":"true"}}}]}`
	nothing     = `{"Statement":[{"Sid":"Other","Effect":"Allow","Resource":"/elsewhere"}]}`
)

// TestEvaluateScopedIsTheIntersection: a request is allowed only when the route and every
// policy of the session allow it; an explicit Deny anywhere wins; a session policy that says
// nothing denies; and a refusal by the session's policy is never a step-up.
func TestEvaluateScopedIsTheIntersection(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	mfa := Context{UserID: "alice", AuthType: AuthToken, MFAPresent: true, MFATime: now, MFAMethod: MethodVirtual, Time: now}
	noMFA := Context{UserID: "alice", AuthType: AuthToken, Time: now}
	cases := []struct {
		name                 string
		route, session, role string
		ctx                  Context
		method, path         string
		want                 Decision
		by                   Layer
		remedy               Remedy
	}{
		{"both allow", allowAll, allowReads, "", mfa, "GET", "/app/x", Allowed, LayerRoute, RemedyNone},
		{"session says nothing", allowAll, allowReads, "", mfa, "POST", "/app/x", ImplicitDeny, LayerSession, RemedyForbidden},
		{"session denies", allowAll, denyReports, "", mfa, "GET", "/app/reports/q", ExplicitDeny, LayerSession, RemedyForbidden},
		{"session deny beats route's silence", nothing, denyReports, "", mfa, "GET", "/app/reports/q", ExplicitDeny, LayerSession, RemedyForbidden},
		{"route deny wins over session allow", denyReports, allowAll, "", mfa, "GET", "/app/reports/q", ExplicitDeny, LayerRoute, RemedyForbidden},
		{"route silent, session allows", nothing, allowAll, "", mfa, "GET", "/app/x", ImplicitDeny, LayerRoute, RemedyForbidden},
		{"route wants a factor, session allows: step-up", needMFA, allowReads, "", noMFA, "GET", "/app/x", ImplicitDeny, LayerRoute, RemedyMFA},
		{"route wants a factor, session refuses: no step-up", needMFA, allowReads, "", noMFA, "POST", "/app/x", ImplicitDeny, LayerRoute, RemedyForbidden},
		{"role allows", allowAll, "", allowReads, mfa, "GET", "/app/x", Allowed, LayerRoute, RemedyNone},
		{"role says nothing", allowAll, "", allowReads, mfa, "DELETE", "/app/x", ImplicitDeny, LayerRole, RemedyForbidden},
		{"session and role: role denies", allowAll, allowAll, denyReports, mfa, "GET", "/app/reports/1", ExplicitDeny, LayerRole, RemedyForbidden},
		{"session and role: session silent, role denies", allowAll, allowReads, denyReports, mfa, "POST", "/app/reports/1", ExplicitDeny, LayerRole, RemedyForbidden},
		{"no session policy at all", needMFA, "", "", noMFA, "GET", "/app/x", ImplicitDeny, LayerRoute, RemedyMFA},
	}
	for _, c := range cases {
		ctx := c.ctx
		ctx.Method, ctx.Path = c.method, c.path
		route := scopeSet(t, c.route)
		v := EvaluateScoped(route, &ctx, scopeSet(t, c.session), scopeSet(t, c.role))
		if v.Decision != c.want || v.By != c.by {
			t.Errorf("%s: %v by %v; want %v by %v", c.name, v.Decision, v.By, c.want, c.by)
			continue
		}
		if c.want == Allowed {
			continue
		}
		if ch := RemedyScoped(route, &ctx, v); ch.Remedy != c.remedy {
			t.Errorf("%s: remedy %v; want %v", c.name, ch.Remedy, c.remedy)
		}
	}
}

// TestSessionPolicyBounds: a session policy is measured without white space, bounded, and
// checked like any policy, with the field named.
func TestSessionPolicyBounds(t *testing.T) {
	pretty := "{\n  \"Statement\": [\n    {\"Effect\": \"Allow\", \"Resource\": \"/app/*\"}\n  ]\n}"
	compact, set, err := ParseSessionPolicy([]byte(pretty))
	if err != nil || set == nil || compact != `{"Statement":[{"Effect":"Allow","Resource":"/app/*"}]}` {
		t.Fatalf("pretty policy: %q %v", compact, err)
	}
	big := `{"Statement":[{"Effect":"Allow","Resource":["/` + strings.Repeat("a", MaxSessionPolicyBytes) + `"]}]}`
	for doc, want := range map[string]string{
		big:                                   "at most 2048",
		`{"Statement":[`:                      "not JSON",
		`{"Statement":[{"Effect":"Permit"}]}`: "Effect",
		`{"Statement":[{"Effect":"Allow","Resource":"app"}]}`:                       "Resource",
		`{"Statement":[{"Effect":"Allow","Condition":{"Bool":{"role:Nmae":"x"}}}]}`: "role:Nmae",
	} {
		if _, _, err := ParseSessionPolicy([]byte(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%.60s: %v; want mention of %q", doc, err, want)
		}
	}
}

// TestRoleKeys: role:Name and role:SessionName exist only on a role token.
func TestRoleKeys(t *testing.T) {
	set := scopeSet(t, `{"Statement":[{"Effect":"Allow","Condition":{"StringEquals":{"role:Name":"deployer","role:SessionName":"ci"}}}]}`)
	role := Context{UserID: "alice", AuthType: AuthToken, RoleName: "deployer", RoleSessionName: "ci"}
	if set.Evaluate(&role).Decision != Allowed {
		t.Fatal("a deployer role token is refused")
	}
	for _, c := range []Context{{UserID: "alice", AuthType: AuthToken}, {AuthType: AuthAnonymous, RoleName: "deployer", RoleSessionName: "ci"},
		{UserID: "alice", AuthType: AuthToken, RoleName: "Deployer", RoleSessionName: "ci"}} {
		if set.Evaluate(&c).Decision == Allowed {
			t.Errorf("%+v is allowed as the deployer role", c)
		}
	}
	null := scopeSet(t, `{"Statement":[{"Effect":"Deny","Condition":{"Null":{"role:Name":"false"}}},{"Effect":"Allow"}]}`)
	if null.Evaluate(&role).Decision != ExplicitDeny || null.Evaluate(&Context{UserID: "a", AuthType: AuthToken}).Decision != Allowed {
		t.Fatal("role:Name is present without a role, or absent with one")
	}
}

// TestLintTrust: a trust policy that lets anonymous or access-key-only callers in is flagged;
// one that demands a factor is not.
func TestLintTrust(t *testing.T) {
	flagged := map[string]string{
		`{"Statement":[{"Sid":"Anyone","Effect":"Allow"}]}`:                                                                "even anonymous",
		`{"Statement":[{"Sid":"Devs","Effect":"Allow","Condition":{"StringEquals":{"user:Groups":"dev"}}}]}`:               "access-key-only",
		`{"Statement":[{"Sid":"Maybe","Effect":"Allow","Condition":{"BoolIfExists":{"mfa:Present":"true"}}}]}`:             "access-key-only",
		`{"Statement":[{"Sid":"Age","Effect":"Allow","Condition":{"NumericLessThanIfExists":{"mfa:Age":"300"}}}]}`:         "access-key-only",
		`{"Statement":[{"Sid":"NotKey","Effect":"Allow","Condition":{"StringNotEquals":{"mfa:Method":"sms"}}}]}`:           "access-key-only",
		`{"Statement":[{"Sid":"Signed","Effect":"Allow","Condition":{"Null":{"user:Id":"false","mfa:Present":"false"}}}]}`: "access-key-only",
	}
	for doc, want := range flagged {
		d, _ := Parse("trust.json", []byte(doc))
		found := false
		for _, f := range LintTrust(d) {
			found = found || strings.Contains(f.Message, want)
		}
		if !found {
			t.Errorf("%s: no finding with %q: %v", doc, want, LintTrust(d))
		}
	}
	for _, doc := range []string{
		`{"Statement":[{"Effect":"Allow","Condition":{"Bool":{"mfa:Present":"true"},"NumericLessThan":{"mfa:Age":"300"},"Null":{"user:Id":"false"}}}]}`,
		`{"Statement":[{"Effect":"Allow","Condition":{"StringEquals":{"mfa:Method":"webauthn","user:Id":"alice"}}}]}`,
		`{"Statement":[{"Effect":"Deny","Condition":{"StringEquals":{"user:Id":"mallory"}}},{"Effect":"Allow","Condition":{"NumericLessThan":{"mfa:Age":"300"},"StringEquals":{"user:Id":"alice"}}}]}`,
	} {
		d, _ := Parse("trust.json", []byte(doc))
		for _, f := range LintTrust(d) {
			if strings.HasPrefix(f.Message, "trust policy") {
				t.Errorf("%s: flagged: %s", doc, f)
			}
		}
	}
}
