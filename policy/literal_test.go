package policy

import "testing"

// TestEscapesAndVariablesAreLiteral: IAM's ${*}, ${?} and ${$} are the characters themselves,
// and so is whatever a variable expands to; only the author's own * and ? are wildcards.
func TestEscapesAndVariablesAreLiteral(t *testing.T) {
	cases := []struct {
		name, resource, user, path string
		want                       Decision
	}{
		{"escaped star matches a star", "/files/${*}", "alice", "/files/*", Allowed},
		{"escaped star is no wildcard", "/files/${*}", "alice", "/files/secret", ImplicitDeny},
		{"escaped star is no empty run", "/files/${*}", "alice", "/files/", ImplicitDeny},
		{"escaped question mark matches itself", "/q${?}", "alice", "/q?", Allowed},
		{"escaped question mark is no wildcard", "/q${?}", "alice", "/qx", ImplicitDeny},
		{"escaped dollar", "/price/${$}5", "alice", "/price/$5", Allowed},
		{"escape beside a wildcard", "/a/${*}/*", "alice", "/a/*/b", Allowed},
		{"escape beside a wildcard, no star", "/a/${*}/*", "alice", "/a/x/b", ImplicitDeny},
		{"variable holding a star", "/home/${user:Id}/*", "a*", "/home/abc/x", ImplicitDeny},
		{"variable holding a star, itself", "/home/${user:Id}/*", "a*", "/home/a*/x", Allowed},
		{"variable holding a question mark", "/home/${user:Id}/*", "a?", "/home/ab/x", ImplicitDeny},
		{"author's wildcard still works", "/home/*/x", "alice", "/home/anything/x", Allowed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := mustSet(t, `{"Statement": [{"Sid": "S", "Effect": "Allow", "Action": "*", "Resource": "`+c.resource+`"}]}`)
			ctx := &Context{UserID: c.user, AuthType: AuthSession, Method: "GET", Path: c.path, Time: now}
			if got := s.Evaluate(ctx).Decision; got != c.want {
				t.Errorf("%s on %s as %s: %v, want %v", c.resource, c.path, c.user, got, c.want)
			}
		})
	}
}

// TestStringLikeEscapes: the same literals in StringLike conditions; StringEquals never had
// wildcards.
func TestStringLikeEscapes(t *testing.T) {
	cases := []struct {
		op, value, user string
		want            Decision
	}{
		{"StringLike", "adm${*}", "adm*", Allowed},
		{"StringLike", "adm${*}", "admin", ImplicitDeny},
		{"StringLike", "adm*", "admin", Allowed},
		{"StringNotLike", "adm${*}", "admin", Allowed},
		{"StringNotLike", "adm${*}", "adm*", ImplicitDeny},
		{"StringEquals", "adm*", "admin", ImplicitDeny},
		{"StringEquals", "adm*", "adm*", Allowed},
		{"StringEquals", "adm${*}", "adm*", Allowed},
	}
	for _, c := range cases {
		s := mustSet(t, `{"Statement": [{"Sid": "S", "Effect": "Allow", "Action": "*", "Resource": "*",
			"Condition": {"`+c.op+`": {"user:Id": "`+c.value+`"}}}]}`)
		ctx := &Context{UserID: c.user, AuthType: AuthSession, Method: "GET", Path: "/", Time: now}
		if got := s.Evaluate(ctx).Decision; got != c.want {
			t.Errorf("%s %q for %q: %v, want %v", c.op, c.value, c.user, got, c.want)
		}
	}
}

// TestControlCharactersRefused: a pattern may not hold the bytes the matcher uses as wildcards.
func TestControlCharactersRefused(t *testing.T) {
	for _, doc := range []string{
		`{"Statement": [{"Sid": "S", "Effect": "Allow", "Resource": "/a\u0000b"}]}`,
		`{"Statement": [{"Sid": "S", "Effect": "Allow", "Resource": "/a\u0001"}]}`,
		`{"Statement": [{"Sid": "S", "Effect": "Allow", "Resource": "*", "Condition": {"StringLike": {"user:Id": "a\u0000"}}}]}`,
	} {
		d, err := Parse("t.json", []byte(doc))
		if err == nil {
			_, err = Compile(d)
		}
		if err == nil {
			t.Errorf("accepted %s", doc)
		}
	}
}

// TestHeadFollowsGet: HEAD is GET without a body, so statements on GET govern it, in both
// directions and under NotAction; statements on HEAD alone do not govern GET.
func TestHeadFollowsGet(t *testing.T) {
	cases := []struct {
		name, statements, method string
		want                     Decision
	}{
		{"allow GET allows HEAD", `{"Sid": "A", "Effect": "Allow", "Action": "GET", "Resource": "*"}`, "HEAD", Allowed},
		{"allow GET allows GET", `{"Sid": "A", "Effect": "Allow", "Action": "GET", "Resource": "*"}`, "GET", Allowed},
		{"allow GET is not POST", `{"Sid": "A", "Effect": "Allow", "Action": "GET", "Resource": "*"}`, "POST", ImplicitDeny},
		{"allow HEAD is not GET", `{"Sid": "A", "Effect": "Allow", "Action": "HEAD", "Resource": "*"}`, "GET", ImplicitDeny},
		{"deny GET denies HEAD", `{"Sid": "A", "Effect": "Allow", "Action": "*", "Resource": "*"},
			{"Sid": "D", "Effect": "Deny", "Action": "GET", "Resource": "/secret/*"}`, "HEAD", ExplicitDeny},
		{"deny G?T denies HEAD", `{"Sid": "A", "Effect": "Allow", "Action": "*", "Resource": "*"},
			{"Sid": "D", "Effect": "Deny", "Action": "G?T", "Resource": "/secret/*"}`, "HEAD", ExplicitDeny},
		{"deny all but GET spares HEAD", `{"Sid": "A", "Effect": "Allow", "Action": "*", "Resource": "*"},
			{"Sid": "D", "Effect": "Deny", "NotAction": "GET", "Resource": "/secret/*"}`, "HEAD", Allowed},
		{"deny all but GET hits POST", `{"Sid": "A", "Effect": "Allow", "Action": "*", "Resource": "*"},
			{"Sid": "D", "Effect": "Deny", "NotAction": "GET", "Resource": "/secret/*"}`, "POST", ExplicitDeny},
		{"lower-case action is POST", `{"Sid": "A", "Effect": "Allow", "Action": "post", "Resource": "*"}`, "POST", Allowed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := mustSet(t, `{"Statement": [`+c.statements+`]}`)
			ctx := &Context{UserID: "alice", AuthType: AuthSession, Method: c.method, Path: "/secret/x", Time: now}
			if got := s.Evaluate(ctx).Decision; got != c.want {
				t.Errorf("%s: %v, want %v", c.method, got, c.want)
			}
		})
	}
}

// TestCaseTakesTheStricterReading: a Deny's Resource and an Allow's NotResource ignore case (an
// upstream may serve /ADMIN as /admin); an Allow's Resource and a Deny's NotResource do not.
func TestCaseTakesTheStricterReading(t *testing.T) {
	cases := []struct {
		name, statements, path string
		want                   Decision
	}{
		{"deny covers other cases", `{"Sid": "A", "Effect": "Allow", "Resource": "*"}, {"Sid": "D", "Effect": "Deny", "Resource": "/admin/*"}`, "/ADMIN/x", ExplicitDeny},
		{"deny covers mixed case", `{"Sid": "A", "Effect": "Allow", "Resource": "*"}, {"Sid": "D", "Effect": "Deny", "Resource": "/admin/*"}`, "/aDmIn/x", ExplicitDeny},
		{"allow is exact", `{"Sid": "A", "Effect": "Allow", "Resource": "/public/*"}`, "/PUBLIC/x", ImplicitDeny},
		{"allow in its own case", `{"Sid": "A", "Effect": "Allow", "Resource": "/public/*"}`, "/public/x", Allowed},
		{"deny all but public is exact", `{"Sid": "A", "Effect": "Allow", "Resource": "*"}, {"Sid": "D", "Effect": "Deny", "NotResource": "/public/*"}`, "/PUBLIC/x", ExplicitDeny},
		{"deny all but public spares public", `{"Sid": "A", "Effect": "Allow", "Resource": "*"}, {"Sid": "D", "Effect": "Deny", "NotResource": "/public/*"}`, "/public/x", Allowed},
		{"allow all but admin folds", `{"Sid": "A", "Effect": "Allow", "NotResource": "/admin/*"}`, "/Admin/x", ImplicitDeny},
		{"allow all but admin allows others", `{"Sid": "A", "Effect": "Allow", "NotResource": "/admin/*"}`, "/app/x", Allowed},
		{"hosts ignore case", `{"Sid": "A", "Effect": "Allow", "Resource": "App.Example.com/*"}`, "/x", Allowed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := mustSet(t, `{"Statement": [`+c.statements+`]}`)
			ctx := &Context{UserID: "alice", AuthType: AuthSession, Method: "GET", Host: "app.example.com", Path: c.path, Time: now}
			if got := s.Evaluate(ctx).Decision; got != c.want {
				t.Errorf("%s: %v, want %v", c.path, got, c.want)
			}
		})
	}
}
