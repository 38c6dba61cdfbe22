package policy

import (
	"testing"
	"time"
)

// TestHostVariables: a variable in a resource's host keeps its name's case, so it is a known
// key; the host around it still matches any case.
func TestHostVariables(t *testing.T) {
	d, err := Parse("p.json", []byte(`{"Statement": {"Effect": "Allow", "Resource": "${user:Id}.Example.com/*", "Condition": {"Null": {"user:Id": "false"}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Compile(d)
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]Decision{"alice.example.com": Allowed, "bob.example.com": ImplicitDeny, "alice.example.org": ImplicitDeny} {
		ctx := &Context{AuthType: AuthSession, UserID: "alice", Method: "GET", Host: host, Path: "/x", Time: time.Now()}
		if got := s.Evaluate(ctx).Decision; got != want {
			t.Errorf("%s: %v, want %v", host, got, want)
		}
	}
}
