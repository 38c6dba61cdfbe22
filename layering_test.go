package caddymfa

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/caddy-mfa/caddy-mfa/"

// below is every package of the project and the project's packages it may import directly:
// the arrows of DESIGN.md, pointing down only. caddymodule -> {gate, site, admin} -> web ->
// auth -> {policy, roles, factors, factors/lockout, identity, session, throttle, deviceauth} ->
// store (deviceauth above session); canonical beside web, policy alone (roles above it).
var below = map[string][]string{
	"caddymodule":         {"admin", "auth", "caddymodule/cli", "caddymodule/metrics", "canonical", "factors", "factors/lockout", "gate", "identity", "policy", "roles", "session", "site", "store", "store/caddystore", "store/redisstore", "throttle", "web"},
	"caddymodule/cli":     {"policy", "policy/sim"},
	"caddymodule/metrics": {},
	"gate":                {"auth", "canonical", "policy", "session", "web"},
	"site":                {"auth", "deviceauth", "factors", "identity", "policy", "session", "web"},
	"admin":               {"auth", "canonical", "factors", "policy", "policy/sim", "roles", "web"},
	"policy/sim":          {"canonical", "policy"},
	"web":                 {"auth", "canonical", "factors", "identity", "policy", "roles", "session"},
	"canonical":           {},
	"auth":                {"deviceauth", "factors", "factors/lockout", "identity", "policy", "roles", "session", "store", "throttle"},
	"deviceauth":          {"session", "store"},
	"roles":               {"policy"},
	"factors":             {"policy", "store"},
	"identity":            {"store"},
	"session":             {"policy", "store"},
	"factors/lockout":     {"store"},
	"throttle":            {},
	"policy":              {},
	"store":               {},
	"store/caddystore":    {"store"},
	"store/redisstore":    {"store"},
	"store/storetest":     {"store", "store/redisstore"},
	"internal/housetest":  {"auth", "factors", "factors/lockout", "gate", "policy", "roles", "session", "site", "store", "store/caddystore", "throttle", "web"},
}

func imports(t *testing.T, pkg, field string) []string {
	out, err := exec.Command("go", "list", "-f", "{{join ."+field+" \"\\n\"}}", "./"+pkg).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

// TestArrowsPointDown keeps the house's layout: every arrow between the project's packages is
// one of below's, only caddymodule (and its cli) imports Caddy, and auth imports no net/http.
func TestArrowsPointDown(t *testing.T) {
	for pkg, allowed := range below {
		for _, d := range imports(t, pkg, "Imports") {
			if name, ok := strings.CutPrefix(d, module); ok && !slices.Contains(allowed, name) {
				t.Errorf("%s imports %s: that arrow is not in the house's layout", pkg, name)
			}
		}
		if pkg == "caddymodule" || pkg == "caddymodule/cli" {
			continue
		}
		for _, d := range imports(t, pkg, "Deps") {
			if strings.HasPrefix(d, "github.com/caddyserver/caddy/") {
				t.Errorf("%s imports Caddy (%s): only caddymodule may", pkg, d)
			}
		}
	}
	if slices.Contains(imports(t, "auth", "Imports"), "net/http") {
		t.Error("auth imports net/http: operations take plain values; the rooms above speak HTTP")
	}
}

// TestEveryPackageIsInTheLayout: a new package gets its place in below before it lands.
func TestEveryPackageIsInTheLayout(t *testing.T) {
	out, err := exec.Command("go", "list", "./...").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range strings.Fields(string(out)) {
		name, _ := strings.CutPrefix(p, module)
		if _, ok := below[name]; !ok && !slices.Contains([]string{"github.com/caddy-mfa/caddy-mfa", "cmd/caddy", "e2e", "examples/getsessiontoken"}, name) {
			t.Errorf("package %s has no place in the layout (layering_test.go)", name)
		}
	}
}

// TestOnlyTestsImportHousetest: the test house is no part of the product.
func TestOnlyTestsImportHousetest(t *testing.T) {
	for pkg := range below {
		if slices.Contains(imports(t, pkg, "Imports"), module+"internal/housetest") {
			t.Errorf("%s imports internal/housetest outside its tests", pkg)
		}
	}
}
