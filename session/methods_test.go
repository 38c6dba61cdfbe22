package session

import (
	"errors"
	"slices"
	"testing"

	"github.com/caddy-mfa/caddy-mfa/policy"
)

// TestTokenMethodsArePolicyMethods: a token carries exactly the methods a policy names, each
// at the byte it has always had (the byte is the wire format: tokens already issued must keep
// their meaning), and each survives signing and verifying.
func TestTokenMethodsArePolicyMethods(t *testing.T) {
	wire := []string{"", "virtual", "hardware", "webauthn", "sms", "recovery", "remembered"}
	if !slices.Equal(methods, wire) {
		t.Fatalf("token method bytes are %q; tokens already issued were written with %q", methods, wire)
	}
	carried := slices.Sorted(slices.Values(methods[1:]))
	named := slices.Sorted(slices.Values(policy.MethodNames))
	if !slices.Equal(carried, named) {
		t.Fatalf("a token carries methods %q, a policy names %q", carried, named)
	}
	c := newClock()
	ring, _ := NewKeyRing(key(1))
	for _, m := range append([]string{""}, policy.MethodNames...) {
		claims := sampleClaims(c.t)
		claims.Method = m
		tok, err := ring.Sign(&claims)
		if err != nil {
			t.Fatalf("sign with method %q: %v", m, err)
		}
		got, err := ring.Verify(tok, c.t)
		if err != nil || got.Method != m {
			t.Fatalf("method %q came back as %q (%v)", m, got.Method, err)
		}
	}
}

// TestSignRefusesUnknownMethod: a method no token can carry is an error, not a token that
// silently claims no factor was passed.
func TestSignRefusesUnknownMethod(t *testing.T) {
	c := newClock()
	ring, _ := NewKeyRing(key(1))
	for _, m := range []string{"totp", "Virtual", "any", "webauthn "} {
		claims := sampleClaims(c.t)
		claims.Method = m
		if tok, err := ring.Sign(&claims); !errors.Is(err, ErrUnknownMethod) {
			t.Errorf("sign with method %q: token %q, error %v; want ErrUnknownMethod", m, tok, err)
		}
	}
}
