package gate

import (
	"net/http"
	"strings"
	"testing"
)

// TestDropConnectionTokens: the gate's own header names leave Connection in every spelling and
// position; every other token stays.
func TestDropConnectionTokens(t *testing.T) {
	cases := map[string]string{
		"keep-alive, X-Mfa-User, X-Mfa-Present": "keep-alive",
		"X-MFA-User":                            "",
		"x-mfa-user,x-mfa-groups":               "",
		"X_MFA_User, Upgrade":                   "Upgrade",
		" keep-alive ,\tX-Mfa-Method , close":   "keep-alive, close",
		"X-Mfa-Age, X-Mfa-Auth-Type, X-Custom":  "X-Custom",
		"keep-alive":                            "keep-alive",
		"X-Mfa":                                 "X-Mfa", // not one of the gate's names
	}
	for connection, want := range cases {
		h := http.Header{"Connection": {connection}}
		dropConnectionTokens(h)
		if got := strings.Join(h["Connection"], ","); got != want {
			t.Errorf("Connection %q became %q, want %q", connection, got, want)
		}
	}
}

// TestOverrideHeaderNames: look-alikes of the override headers are not taken for them.
func TestOverrideHeaderNames(t *testing.T) {
	for _, kept := range []string{"X-Original", "X-Http-Methods", "X-Request-Id"} {
		if isOverrideHeader(kept) {
			t.Errorf("%s taken for an override header", kept)
		}
	}
}
