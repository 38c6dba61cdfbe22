package caddymodule

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
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

// TestReferenceNamesEveryKey: docs/caddyfile.md gives every subdirective the Caddyfile parser
// takes a bullet (**name**), and its JSON blocks show every key of the app and the handler, so a
// key added without its documentation fails here.
func TestReferenceNamesEveryKey(t *testing.T) {
	raw, err := os.ReadFile("../docs/caddyfile.md")
	if err != nil {
		t.Fatal(err)
	}
	page := string(raw)
	parsers, _ := filepath.Glob("caddyfile*.go")
	subdirectives := regexp.MustCompile(`case "([a-z_]+)":`)
	found := 0
	for _, file := range parsers {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		src, _ := os.ReadFile(file)
		for _, m := range subdirectives.FindAllStringSubmatch(string(src), -1) {
			found++
			if !strings.Contains(page, "**"+m[1]+"**") {
				t.Errorf("subdirective %s (%s) has no bullet in docs/caddyfile.md", m[1], file)
			}
		}
	}
	if found < 40 {
		t.Fatalf("found %d subdirectives in the parser: the search is broken", found)
	}
	var jsonBlocks strings.Builder
	for _, block := range regexp.MustCompile("(?s)```json\n(.*?)```").FindAllStringSubmatch(page, -1) {
		jsonBlocks.WriteString(block[1])
	}
	for _, key := range jsonKeys(reflect.TypeOf(App{}), reflect.TypeOf(Handler{})) {
		if !strings.Contains(jsonBlocks.String(), `"`+key+`":`) {
			t.Errorf("JSON key %q is in no JSON block of docs/caddyfile.md", key)
		}
	}
}

// jsonKeys are the JSON names of the types' fields, and of the structs they hold, recursively.
func jsonKeys(types ...reflect.Type) []string {
	var keys []string
	for len(types) > 0 {
		typ := types[0]
		types = types[1:]
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || typ.PkgPath() != reflect.TypeOf(App{}).PkgPath() {
			continue
		}
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if f.IsExported() && name != "" && name != "-" {
				keys = append(keys, name)
				types = append(types, f.Type)
			}
		}
	}
	return keys
}
