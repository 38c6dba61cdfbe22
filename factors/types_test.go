package factors

import (
	"slices"
	"testing"

	"github.com/caddy-mfa/caddy-mfa/policy"
)

// TestDeviceTypesArePolicyMethods: a device's type is the method a policy sees when the device
// passes a factor, so every type is one of policy.Methods, and every method but recovery codes
// (which are no device) is a type.
func TestDeviceTypesArePolicyMethods(t *testing.T) {
	types := []string{TypeVirtual, TypeHardware, TypeWebAuthn, TypeSMS}
	want := slices.DeleteFunc(slices.Clone(policy.Methods), func(m string) bool { return m == policy.MethodRecovery })
	if !slices.Equal(slices.Sorted(slices.Values(types)), slices.Sorted(slices.Values(want))) {
		t.Fatalf("device types %q; policy methods other than recovery %q", types, want)
	}
}
