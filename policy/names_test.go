package policy

import (
	"slices"
	"testing"
)

// TestNameListsHoldEachConstantOnce: AuthTypes and Methods, which other packages range over
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
}
