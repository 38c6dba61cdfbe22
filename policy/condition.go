package policy

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// operator is a condition operator's base form, without IfExists.
type operator struct {
	typ     keyType                     // the key type it compares; string operators take every key
	negated bool                        // true when the key is absent; otherwise the positive form's negation
	like    bool                        // its values are patterns: * and ? are wildcards
	str     func(got, want string) bool // string operators
	order   func(cmp int) bool          // numeric and date operators, given compare(got, want)
}

func is(want ...int) func(int) bool {
	return func(c int) bool { return slices.Contains(want, c) }
}

var operators = map[string]*operator{
	"StringEquals":             {str: func(g, w string) bool { return g == w }},
	"StringEqualsIgnoreCase":   {str: strings.EqualFold},
	"StringLike":               {str: func(g, w string) bool { return glob(w, g) }, like: true},
	"NumericEquals":            {typ: typeNumber, order: is(0)},
	"NumericLessThan":          {typ: typeNumber, order: is(-1)},
	"NumericLessThanEquals":    {typ: typeNumber, order: is(-1, 0)},
	"NumericGreaterThan":       {typ: typeNumber, order: is(1)},
	"NumericGreaterThanEquals": {typ: typeNumber, order: is(1, 0)},
	"DateEquals":               {typ: typeDate, order: is(0)},
	"DateLessThan":             {typ: typeDate, order: is(-1)},
	"DateLessThanEquals":       {typ: typeDate, order: is(-1, 0)},
	"DateGreaterThan":          {typ: typeDate, order: is(1)},
	"DateGreaterThanEquals":    {typ: typeDate, order: is(1, 0)},
	"Bool":                     {typ: typeBool},
	"IpAddress":                {typ: typeIP},
}

func init() {
	for neg, pos := range map[string]string{
		"StringNotEquals": "StringEquals", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
		"StringNotLike": "StringLike", "NumericNotEquals": "NumericEquals", "DateNotEquals": "DateEquals",
		"NotIpAddress": "IpAddress",
	} {
		op := *operators[pos]
		op.negated = true
		operators[neg] = &op
	}
}

// condition is one operator applied to one key with its values, compiled.
type condition struct {
	op       *operator
	ifExists bool
	null     bool // the Null operator: values[0] is "true" (absent) or "false" (present)
	key      key
	values   []string
	vars     []template // per value, when a value holds ${...}
	numbers  []float64
	dates    []time.Time
	prefixes []netip.Prefix
}

func compileCondition(opName, keyName string, values StringList) (*condition, error) {
	k, ok := lookupKey(keyName)
	if !ok {
		return nil, errors.New(unknownName("condition key", keyName, SuggestKey(keyName), KeyNames()))
	}
	if len(values) == 0 {
		return nil, fmt.Errorf("%s: %w", keyName, errEmpty)
	}
	c := &condition{key: k, values: values}
	if opName == "Null" {
		if len(values) != 1 || (values[0] != "true" && values[0] != "false") {
			return nil, fmt.Errorf("Null %s: want \"true\" or \"false\"", keyName)
		}
		c.null = true
		return c, nil
	}
	base, ifExists := strings.CutSuffix(opName, "IfExists")
	op := operators[base]
	if op == nil {
		return nil, errors.New(unknownName("condition operator", opName, suggestOperator(opName), nil))
	}
	c.op, c.ifExists = op, ifExists
	if op.typ != typeString && op.typ != keys[k].typ {
		return nil, fmt.Errorf("%s cannot test %s, which is not a %s key", opName, keyName, typeName(op.typ))
	}
	for _, v := range values {
		if err := c.addValue(v); err != nil {
			return nil, fmt.Errorf("%s %s: %w", opName, keyName, err)
		}
	}
	return c, nil
}

func (c *condition) addValue(v string) error {
	switch c.op.typ {
	case typeNumber:
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number (numeric operators take no variables)", v)
		}
		c.numbers = append(c.numbers, n)
	case typeDate:
		t, err := parseDate(v)
		if err != nil {
			return err
		}
		c.dates = append(c.dates, t)
	case typeBool:
		if v != "true" && v != "false" {
			return fmt.Errorf("%q is not true or false", v)
		}
	case typeIP:
		p, err := parsePrefix(v)
		if err != nil {
			return err
		}
		c.prefixes = append(c.prefixes, p)
	case typeString:
		t, err := parseTemplate(v, c.op.like)
		if err != nil {
			return err
		}
		c.vars = append(c.vars, t)
	}
	return nil
}

func parseDate(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(n, 0), nil // IAM also takes epoch seconds
	}
	return time.Time{}, fmt.Errorf("%q is not a date (RFC 3339, YYYY-MM-DD or epoch seconds)", v)
}

func parsePrefix(v string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(v); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR range", v)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func typeName(t keyType) string {
	return [...]string{"string", "boolean", "numeric", "IP address", "date"}[t]
}

// eval tests the condition against the context with IAM's rules: an absent key is false, but
// true under IfExists and for a negated operator; several values are OR-ed; a multi-valued
// key matches when any of its values does, and a negated operator when none does.
func (c *condition) eval(ctx *Context) bool {
	present := ctx.present(c.key)
	if c.null {
		return present == (c.values[0] == "false")
	}
	if !present {
		return c.ifExists || c.op.negated
	}
	return c.matchAny(ctx) != c.op.negated
}

func (c *condition) matchAny(ctx *Context) bool {
	switch c.op.typ {
	case typeNumber:
		age := float64(ctx.age())
		return slices.ContainsFunc(c.numbers, func(n float64) bool { return c.op.order(cmp.Compare(age, n)) })
	case typeDate:
		return slices.ContainsFunc(c.dates, func(d time.Time) bool { return c.op.order(ctx.Time.Compare(d)) })
	case typeIP:
		addr := ctx.SourceIP.Unmap()
		return slices.ContainsFunc(c.prefixes, func(p netip.Prefix) bool { return p.Contains(addr) })
	case typeBool:
		want := strconv.FormatBool(ctx.boolean(c.key))
		return slices.Contains(c.values, want)
	}
	if keys[c.key].multi {
		return slices.ContainsFunc(ctx.Groups, func(g string) bool { return c.matchString(ctx, g) })
	}
	return c.matchString(ctx, ctx.str(c.key))
}

func (c *condition) matchString(ctx *Context, got string) bool {
	for i := range c.vars {
		if want, ok := c.vars[i].expand(ctx); ok && c.op.str(got, want) {
			return true
		}
	}
	return false
}
