package policy

import (
	"fmt"
	"strings"
)

// A compiled pattern holds its wildcards as bytes that no pattern, path, host or method may
// contain, so that IAM's ${*} and ${?} and the values of variables stay literal characters: an
// Allow on /files/${user:Id}/* covers no more than its author wrote, whatever the name holds.
const (
	anyRun byte = 0 // IAM's *
	anyOne byte = 1 // IAM's ?
)

// wildcards compiles a pattern's * and ? into the matcher's wildcard bytes.
func wildcards(s string) string {
	if !strings.ContainsAny(s, "*?") {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		switch c {
		case '*':
			b[i] = anyRun
		case '?':
			b[i] = anyOne
		}
	}
	return string(b)
}

// hasControl reports a control character, which a pattern may not hold (they are the wildcards).
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// glob matches a compiled pattern: anyRun any run of characters (including none), anyOne
// exactly one; every other byte only itself.
func glob(pattern, s string) bool { return wildMatch(pattern, s, false) }

// globFold is glob ignoring ASCII case.
func globFold(pattern, s string) bool { return wildMatch(pattern, s, true) }

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func wildMatch(pattern, s string, fold bool) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == anyRun:
			star, mark = p, i
			p++
		case p < len(pattern) && (pattern[p] == anyOne || pattern[p] == s[i] || fold && lowerASCII(pattern[p]) == lowerASCII(s[i])):
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == anyRun {
		p++
	}
	return p == len(pattern)
}

// template is a pattern that may hold ${key} variables, split once at compile time.
type template struct {
	parts []templatePart
	plain string // the whole pattern when it has no variables
	// head is plain up to its first wildcard: a path that does not begin with it cannot match,
	// and most paths a policy is tried against fail there, found without the glob loop.
	head string
}

type templatePart struct {
	literal string
	key     key
	isVar   bool
}

// parseTemplate splits s at ${...}. When pattern is set, * and ? are wildcards, compiled for
// glob; IAM's ${*}, ${?} and ${$} always stand for those characters literally.
func parseTemplate(s string, pattern bool) (template, error) {
	if hasControl(s) {
		return template{}, fmt.Errorf("%q holds a control character", s)
	}
	lit := func(s string) string { return s }
	if pattern {
		lit = wildcards
	}
	if !strings.Contains(s, "${") {
		plain := lit(s)
		head, _, _ := strings.Cut(plain, string([]byte{anyRun}))
		head, _, _ = strings.Cut(head, string([]byte{anyOne}))
		return template{plain: plain, head: head}, nil
	}
	var t template
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			t.parts = append(t.parts, templatePart{literal: lit(s)})
			return t, nil
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return t, fmt.Errorf("unclosed variable in %q", s)
		}
		t.parts = append(t.parts, templatePart{literal: lit(s[:i])})
		name := s[i+2 : i+j]
		switch name {
		case "*", "?", "$":
			t.parts = append(t.parts, templatePart{literal: name})
		default:
			k, ok := lookupKey(name)
			if !ok {
				if near := SuggestKey(name); near != "" {
					return t, fmt.Errorf("unknown variable ${%s}: did you mean ${%s}?", name, near)
				}
				return t, fmt.Errorf("unknown variable ${%s}", name)
			}
			if keys[k].noVars {
				return t, fmt.Errorf("${%s} has several values and cannot be a variable", name)
			}
			t.parts = append(t.parts, templatePart{key: k, isVar: true})
		}
		s = s[i+j+1:]
	}
}

func (t *template) hasVars() bool { return t.parts != nil }

// expand fills in the variables; ok is false when one of them is absent, and then the
// pattern matches nothing (IAM).
func (t *template) expand(c *Context) (string, bool) {
	if t.parts == nil {
		return t.plain, true
	}
	var b strings.Builder
	for _, p := range t.parts {
		if !p.isVar {
			b.WriteString(p.literal)
			continue
		}
		if !c.present(p.key) {
			return "", false
		}
		b.WriteString(c.str(p.key))
	}
	return b.String(), true
}

// resource is a compiled Resource pattern: a path, or a host and a path.
type resource struct {
	any  bool
	host template // empty: any host
	path template
}

func parseResource(s string) (resource, error) {
	if s == "*" {
		return resource{any: true}, nil
	}
	slash := strings.IndexByte(s, '/')
	if slash < 0 {
		return resource{}, fmt.Errorf("%q: a resource is a path starting with / (/api/*), a host and a path (api.example.com/v1/*), or *", s)
	}
	host, path := s[:slash], s[slash:]
	if host != "" && !strings.ContainsAny(host, ".:*") && host != "localhost" && !strings.Contains(host, "${") {
		return resource{}, fmt.Errorf("%q: %q is not a host name; did you mean /%s?", s, host, s)
	}
	r := resource{}
	var err error
	if r.host, err = parseTemplate(lowerOutsideVars(host), true); err != nil {
		return r, err
	}
	if r.path, err = parseTemplate(path, true); err != nil {
		return r, err
	}
	return r, nil
}

// lowerOutsideVars lower-cases a host pattern but for the names of its variables, which are
// case-sensitive keys (${user:Id}).
func lowerOutsideVars(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(strings.ToLower(s))
			return b.String()
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			b.WriteString(strings.ToLower(s))
			return b.String()
		}
		b.WriteString(strings.ToLower(s[:i]) + s[i:i+j+1])
		s = s[i+j+1:]
	}
}

// match reports whether the request is the resource. Hosts never depend on case; paths do when
// foldPath is false, and then a path that does not begin with the pattern's literal head is
// refused before the glob runs (globMatch would refuse it too).
func (r *resource) match(c *Context, foldPath bool) bool {
	if !foldPath && !strings.HasPrefix(c.Path, r.path.head) {
		return false
	}
	return r.globMatch(c, foldPath)
}

// globMatch is match without the literal-head shortcut: the host, then the path's glob.
func (r *resource) globMatch(c *Context, foldPath bool) bool {
	if r.any {
		return true
	}
	if r.host.plain != "" || r.host.hasVars() {
		h, ok := r.host.expand(c)
		if !ok || !globFold(h, c.Host) {
			return false
		}
	}
	p, ok := r.path.expand(c)
	return ok && wildMatch(p, c.Path, foldPath)
}
