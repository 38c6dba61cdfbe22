package policy

import (
	"testing"
	"time"
)

// FuzzParse feeds the document parser arbitrary bytes: it must refuse or accept, never panic,
// and whatever it accepts must evaluate and lint.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "/api/*", "Condition": {"Bool": {"mfa:Present": "true"}}}]}`))
	f.Add([]byte(`{"Statement": {"Sid": "X", "Effect": "Deny", "NotResource": "h.example.com/${user:Id}/?", "Condition": {"NumericGreaterThanIfExists": {"mfa:Age": 900}}}}`))
	f.Add([]byte(`{"Statement": [{"Effect": "Allow", "Condition": {"IpAddress": {"req:SourceIp": ["10.0.0.0/8", "::1"]}, "DateLessThan": {"req:Time": "2027-01-01"}}}]}`))
	f.Add([]byte(`{"Statement": [{"Effect": "Allow", "Resource": "/${*}${?}${$}", "Condition": {"Null": {"user:Groups": "true"}}}]}`))
	f.Add([]byte(`{"Statement": [{"Effect": "Allow", "Resource": "/${user:Id"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse("fuzz.json", data)
		if err != nil {
			return
		}
		s, err := Compile(d)
		if err != nil {
			t.Fatalf("Parse accepted what Compile refuses: %v", err)
		}
		for _, ctx := range []*Context{
			{AuthType: AuthAnonymous, Method: "GET", Path: "/api/x", Time: time.Unix(0, 0)},
			{UserID: "a", Groups: []string{"g"}, AuthType: AuthToken, MFAPresent: true, MFATime: time.Unix(0, 0), MFAMethod: "webauthn", Method: "POST", Host: "h.example.com", Path: "/a/b", Time: time.Unix(100, 0)},
		} {
			_ = s.Evaluate(ctx)
			_ = s.Remedy(ctx)
		}
		_ = Lint(d)
	})
}
