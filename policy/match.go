package policy

import (
	"fmt"
	"strings"
)

// glob matches IAM wildcards: * any run of characters (including none), ? exactly one.
func glob(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// template is a pattern that may hold ${key} variables, split once at compile time.
type template struct {
	parts []templatePart
	plain string // the whole pattern when it has no variables
}

type templatePart struct {
	literal string
	key     key
	isVar   bool
}

// parseTemplate splits s at ${...}; IAM's ${*}, ${?} and ${$} stand for those characters
// literally.
func parseTemplate(s string) (template, error) {
	if !strings.Contains(s, "${") {
		return template{plain: s}, nil
	}
	var t template
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			t.parts = append(t.parts, templatePart{literal: s})
			return t, nil
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return t, fmt.Errorf("unclosed variable in %q", s)
		}
		t.parts = append(t.parts, templatePart{literal: s[:i]})
		name := s[i+2 : i+j]
		switch name {
		case "*", "?", "$":
			// IAM's escapes; glob still reads * and ? as wildcards, which paths rarely hold.
			t.parts = append(t.parts, templatePart{literal: name})
		default:
			k, ok := lookupKey(name)
			if !ok {
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
	if r.host, err = parseTemplate(host); err != nil {
		return r, err
	}
	if r.path, err = parseTemplate(path); err != nil {
		return r, err
	}
	return r, nil
}

func (r *resource) match(c *Context) bool {
	if r.any {
		return true
	}
	if r.host.plain != "" || r.host.hasVars() {
		h, ok := r.host.expand(c)
		if !ok || !glob(strings.ToLower(h), strings.ToLower(c.Host)) {
			return false
		}
	}
	p, ok := r.path.expand(c)
	return ok && glob(p, c.Path)
}
