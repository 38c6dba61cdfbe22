package session

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/caddy-mfa/caddy-mfa/policy"
)

const deployOnly = `{"Version":"2026-11-01","Statement":[{"Effect":"Allow","Action":"POST","Resource":"/deploy/*"}]}`

func scopedClaims(t *testing.T) Claims {
	t.Helper()
	c := sampleClaims(newClock().t)
	c.Audience, c.Role, c.RoleSessionName, c.SessionPolicy = "api.example.com", "deployer", "ci-run-42", deployOnly
	c.AAGUID = "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"
	return c
}

// TestScopedTokenRoundTrip: the audience, role, role session name and session policy survive a
// token, and Verify hands back the policy compiled.
func TestScopedTokenRoundTrip(t *testing.T) {
	ring, _ := NewKeyRing(key(1))
	want := scopedClaims(t)
	tok, err := ring.Sign(&want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ring.Verify(tok, want.Issued)
	if err != nil {
		t.Fatal(err)
	}
	if got.Policy() == nil {
		t.Fatal("the session policy was not compiled")
	}
	ctx := &policy.Context{UserID: "alice", AuthType: policy.AuthToken, Method: "POST", Path: "/deploy/web"}
	if d := got.Policy().Evaluate(ctx).Decision; d != policy.Allowed {
		t.Fatalf("the carried policy decides %v on its own resource", d)
	}
	got.policy = nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip changed the claims:\n got %+v\nwant %+v", got, want)
	}
	for _, only := range []func(*Claims){
		func(c *Claims) { c.Audience = "a.example" }, func(c *Claims) { c.Role = "r" },
		func(c *Claims) { c.RoleSessionName = "s" }, func(c *Claims) { c.SessionPolicy = deployOnly },
	} {
		c := sampleClaims(want.Issued)
		only(&c)
		tok, _ := ring.Sign(&c)
		if got, err := ring.Verify(tok, c.Issued); err != nil || got.Audience != c.Audience || got.Role != c.Role ||
			got.RoleSessionName != c.RoleSessionName || got.SessionPolicy != c.SessionPolicy || got.AAGUID != "" {
			t.Errorf("one scope field %+v: got %+v, %v", c, got, err)
		}
	}
}

// TestScopedTokenTampering: flipping any bit of a scoped token, its audience, role or policy
// above all, fails the signature; so does moving bytes between its fields.
func TestScopedTokenTampering(t *testing.T) {
	ring, _ := NewKeyRing(key(1))
	c := scopedClaims(t)
	tok, _ := ring.Sign(&c)
	raw, _ := b64.DecodeString(tok)
	for i := range raw {
		forged := bytes.Clone(raw)
		forged[i] ^= 0x01
		if _, err := ring.Verify(b64.EncodeToString(forged), c.Issued); err == nil {
			t.Fatalf("flipping a bit of byte %d went unnoticed", i)
		}
	}
	for _, field := range []string{"api.example.com", "deployer", "ci-run-42", `"POST"`} {
		at := bytes.Index(raw, []byte(field))
		forged := bytes.Clone(raw)
		forged[at] = 'X'
		if _, err := ring.Verify(b64.EncodeToString(forged), c.Issued); !errors.Is(err, ErrSignature) {
			t.Errorf("altering %s: %v; want a signature failure", field, err)
		}
	}
}

// TestScopeLimits: every scope field has its limit, a token at all limits verifies and stays
// within the size docs/api.md states, and a policy this version cannot compile is refused.
func TestScopeLimits(t *testing.T) {
	ring, _ := NewKeyRing(key(1))
	for name, over := range map[string]func(*Claims){
		"audience":          func(c *Claims) { c.Audience = strings.Repeat("a", maxAudience+1) },
		"role":              func(c *Claims) { c.Role = strings.Repeat("r", maxRole+1) },
		"role session name": func(c *Claims) { c.RoleSessionName = strings.Repeat("s", maxRoleSession+1) },
		"policy":            func(c *Claims) { c.SessionPolicy = strings.Repeat(" ", policy.MaxSessionPolicyBytes+1) },
	} {
		c := scopedClaims(t)
		over(&c)
		if _, err := ring.Sign(&c); !errors.Is(err, ErrTooLong) {
			t.Errorf("%s over its limit: %v", name, err)
		}
	}
	full := scopedClaims(t)
	full.User, full.Serial = strings.Repeat("u", maxUser), strings.Repeat("s", maxSerial)
	full.Groups = []string{strings.Repeat("g", maxGroups)}
	full.Audience, full.Role, full.RoleSessionName = strings.Repeat("a", maxAudience), strings.Repeat("r", maxRole), strings.Repeat("s", maxRoleSession)
	full.SessionPolicy = deployOnly[:len(deployOnly)-2] + strings.Repeat(" ", policy.MaxSessionPolicyBytes-len(deployOnly)) + "]}"
	tok, err := ring.Sign(&full)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ring.Verify(tok, full.Issued); err != nil {
		t.Fatalf("a token at every limit: %v", err)
	}
	if len(tok) > 5211 {
		t.Fatalf("a token at every limit has %d characters; docs/api.md says at most 5211", len(tok))
	}
	unknown := scopedClaims(t)
	unknown.SessionPolicy = `{"Version":"2026-11-01","Statement":[{"Effect":"Allow","Condition":{"Bool":{"mfa:Future":"true"}}}]}`
	tok, _ = ring.Sign(&unknown)
	if _, err := ring.Verify(tok, unknown.Issued); !errors.Is(err, ErrMalformed) {
		t.Fatalf("a policy this version cannot compile: %v; want the token refused", err)
	}
}

// TestTokenCacheCompilesThePolicyOnce: every request with the same token gets the one compiled
// policy from the cache.
func TestTokenCacheCompilesThePolicyOnce(t *testing.T) {
	ring, _ := NewKeyRing(key(1))
	c := scopedClaims(t)
	tok, _ := ring.Sign(&c)
	cache := NewTokenCache(ring)
	first, err := cache.Verify(tok, c.Issued)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := cache.Verify(tok, c.Issued)
	if first.Policy() == nil || first.Policy() != again.Policy() {
		t.Fatal("the cache compiled the policy again, or lost it")
	}
}
