package policy

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// tenStatements is a realistic route policy: ten statements over methods, paths and MFA keys.
func tenStatements(b *testing.B) *Set {
	var sb strings.Builder
	sb.WriteString(`{"Statement": [`)
	for i := range 8 {
		fmt.Fprintf(&sb, `{"Sid": "S%d", "Effect": "Allow", "Action": ["GET", "HEAD"], "Resource": "/svc%d/*", "Condition": {"Bool": {"mfa:Present": "true"}, "StringEquals": {"user:Groups": "team%d"}}},`, i, i, i)
	}
	sb.WriteString(`{"Sid": "Writes", "Effect": "Allow", "NotAction": ["GET", "HEAD"], "Resource": "/api/*", "Condition": {"NumericLessThan": {"mfa:Age": "900"}}},`)
	sb.WriteString(`{"Sid": "NoKeys", "Effect": "Deny", "Resource": "/admin/*", "Condition": {"StringNotEquals": {"mfa:Method": "webauthn"}}}]}`)
	d, err := Parse("bench.json", []byte(sb.String()))
	if err != nil {
		b.Fatal(err)
	}
	s, _ := Compile(d)
	return s
}

func BenchmarkEvaluate10Statements(b *testing.B) {
	s := tenStatements(b)
	now := time.Now()
	ctx := &Context{UserID: "alice", Groups: []string{"team7"}, AuthType: AuthToken, MFAPresent: true, MFATime: now.Add(-time.Minute),
		MFAMethod: "virtual", Method: "GET", Host: "app.example.com", Path: "/svc7/items/42", Time: now}
	b.ReportAllocs()
	for b.Loop() {
		if s.Evaluate(ctx).Decision != Allowed {
			b.Fatal("not allowed")
		}
	}
}
