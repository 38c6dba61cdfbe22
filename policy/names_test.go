package policy

import (
	"slices"
	"testing"
	"time"
)

// TestNameListsHoldEachConstantOnce: AuthTypes, Methods and MethodNames, which other packages range over
// (the gateway's header values, the token's method table), hold every constant exactly once.
func TestNameListsHoldEachConstantOnce(t *testing.T) {
	check := func(what string, list, consts []string) {
		t.Helper()
		if !slices.Equal(slices.Sorted(slices.Values(list)), slices.Sorted(slices.Values(consts))) || len(slices.Compact(slices.Sorted(slices.Values(list)))) != len(list) {
			t.Errorf("%s is %q; the constants are %q", what, list, consts)
		}
	}
	check("AuthTypes", AuthTypes, []string{AuthAnonymous, AuthSession, AuthAccessKey, AuthToken, AuthExternal})
	check("Methods", Methods, []string{MethodVirtual, MethodHardware, MethodWebAuthn, MethodSMS, MethodRecovery})
	check("MethodNames", MethodNames, []string{MethodVirtual, MethodHardware, MethodWebAuthn, MethodSMS, MethodRecovery, MethodRemembered})
}

// TestRememberedIsNeverARemedy: a remembered browser stands for a factor passed before; a
// challenge cannot ask for one, even where a policy allows nothing else.
func TestRememberedIsNeverARemedy(t *testing.T) {
	if slices.Contains(Methods, MethodRemembered) {
		t.Fatalf("Methods, which challenges offer, holds %q", MethodRemembered)
	}
	set, err := Compile(Shortcuts{RequireMFA: true, Methods: []string{MethodRemembered}}.Document(true))
	if err != nil {
		t.Fatal(err)
	}
	ctx := &Context{UserID: "alice", AuthType: AuthSession, Time: time.Unix(1e9, 0)}
	if ch := set.Remedy(ctx); ch.Remedy != RemedyForbidden || len(ch.Methods) != 0 {
		t.Fatalf("methods remembered, no factor: remedy %v %q; want forbidden, no method", ch.Remedy, ch.Methods)
	}
	set, _ = Compile(Shortcuts{RequireMFA: true}.Document(true))
	if ch := set.Remedy(ctx); slices.Contains(ch.Methods, MethodRemembered) {
		t.Fatalf("require mfa: the challenge offers %q", ch.Methods)
	}
}
