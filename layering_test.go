package caddymfa

import (
	"os/exec"
	"strings"
	"testing"
)

// TestArrowsPointDown keeps the house's layout: only caddymodule imports Caddy, and policy
// imports nothing of the project.
func TestArrowsPointDown(t *testing.T) {
	deps := func(pkg string) []string {
		out, err := exec.Command("go", "list", "-deps", "./"+pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		return strings.Fields(string(out))
	}
	for _, pkg := range []string{"policy", "factors", "identity", "session", "store", "gateway"} {
		for _, d := range deps(pkg) {
			if strings.HasPrefix(d, "github.com/caddyserver/caddy/") {
				t.Errorf("%s imports Caddy (%s): only caddymodule may", pkg, d)
			}
		}
	}
	for _, d := range deps("policy") {
		if strings.HasPrefix(d, "github.com/caddy-mfa/caddy-mfa/") && d != "github.com/caddy-mfa/caddy-mfa/policy" {
			t.Errorf("policy imports %s: it must import nothing of the project", d)
		}
	}
	for _, d := range deps("gateway") {
		if d == "github.com/caddy-mfa/caddy-mfa/caddymodule" {
			t.Error("gateway imports caddymodule: arrows point down")
		}
	}
}
