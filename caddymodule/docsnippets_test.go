package caddymodule

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
)

// The documentation's Caddyfile snippets are tested: every block fenced ```caddyfile (or
// ```Caddyfile) in README.md and docs/*.md must adapt with Caddy's caddyfile adapter, and the mfa
// app in it must pass the app's own Validate. The rules (docs/README.md says them to writers):
//
//   - A snippet whose first line opens the global options (`{`) or names a site (an address with
//     a dot, a colon or a slash, or localhost) is a whole Caddyfile and adapts as written.
//   - Any other snippet is the body of a site block (directives, matchers) and is wrapped in
//     `example.com { ... }` first.
//   - A syntax block, with <placeholders> and "...", is fenced ```caddy-d, as in Caddy's own
//     docs, and is not adapted.
//   - snippetStandIns replaces what a reader must fill in (a password hash) before adapting.
//     {env.*} placeholders stay: adapting never resolves them.

var snippetStandIns = strings.NewReplacer(
	"$2a$14$...", "$2a$04$yDkr1gRCtNQojfOxyVfbx.uKfwuhdsC.MfBohx1nJLI5Gn91mCrgS",
)

type snippet struct {
	where string // file:line of the fence
	text  string
}

var caddyfileFence = regexp.MustCompile("^( *)```[cC]addyfile\\s*$")

// docSnippets returns every ```caddyfile block of README.md and docs/*.md, indentation of a
// list item's fence removed.
func docSnippets(t *testing.T) []snippet {
	files, _ := filepath.Glob("../docs/*.md")
	files = append([]string{"../README.md"}, files...)
	var out []snippet
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(raw))
		var cur *snippet
		indent := ""
		for line := 1; sc.Scan(); line++ {
			text := sc.Text()
			switch m := caddyfileFence.FindStringSubmatch(text); {
			case cur == nil && m != nil:
				cur, indent = &snippet{where: fmt.Sprintf("%s:%d", strings.TrimPrefix(file, "../"), line)}, m[1]
			case cur != nil && strings.TrimSpace(text) == "```":
				out = append(out, *cur)
				cur = nil
			case cur != nil:
				cur.text += strings.TrimPrefix(text, indent) + "\n"
			}
		}
		if cur != nil {
			t.Errorf("%s: the fence is never closed", cur.where)
		}
	}
	return out
}

var siteAddress = regexp.MustCompile(`^(\{\s*$|[^\s@{]*[.:/]|localhost)`)

// asCaddyfile is the snippet as a whole Caddyfile, by the rules above.
func asCaddyfile(s snippet) string {
	text := snippetStandIns.Replace(s.text)
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if siteAddress.MatchString(line) {
			return text
		}
		break
	}
	return "example.com {\n" + text + "}\n"
}

func TestDocSnippetsAdapt(t *testing.T) {
	snippets := docSnippets(t)
	if len(snippets) < 10 {
		t.Fatalf("found %d Caddyfile snippets in README.md and docs/: the extraction is broken", len(snippets))
	}
	for _, s := range snippets {
		out, err := adapt(t, asCaddyfile(s))
		if err != nil {
			t.Errorf("%s: the snippet does not adapt: %v\n%s", s.where, err, s.text)
			continue
		}
		if err := validateAdaptedApp(out); err != nil {
			t.Errorf("%s: %v\n%s", s.where, err, s.text)
		}
	}
}

// validateAdaptedApp decodes the mfa app strictly, as Caddy loads it, and runs its Validate.
func validateAdaptedApp(adapted []byte) error {
	var cfg struct {
		Apps map[string]json.RawMessage `json:"apps"`
	}
	if err := json.Unmarshal(adapted, &cfg); err != nil {
		return err
	}
	raw, ok := cfg.Apps["mfa"]
	if !ok {
		return nil
	}
	var app App
	if err := caddy.StrictUnmarshalJSON(raw, &app); err != nil {
		return fmt.Errorf("the mfa app's JSON: %w", err)
	}
	return app.Validate()
}

// TestDocumentedDefaultsAreTheDefaults: the block docs/caddyfile.md shows after
// "<!-- the defaults -->" must hold only the defaults setDefaults sets.
func TestDocumentedDefaultsAreTheDefaults(t *testing.T) {
	raw, err := os.ReadFile("../docs/caddyfile.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(raw), "<!-- the defaults -->\n```caddyfile\n")
	block, _, closed := strings.Cut(after, "\n```")
	if !ok || !closed {
		t.Fatal("docs/caddyfile.md has no caddyfile block after <!-- the defaults -->")
	}
	out, err := adapt(t, block)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Apps struct {
			MFA App `json:"mfa"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	documented := cfg.Apps.MFA
	documented.setDefaults() // fills what the block leaves out, and nothing else
	var defaults App
	defaults.setDefaults()
	got, _ := json.MarshalIndent(documented, "", " ")
	want, _ := json.MarshalIndent(defaults, "", " ")
	if !bytes.Equal(got, want) {
		t.Fatalf("the documented defaults are not the code's:\n%s\nwant\n%s", got, want)
	}
}
