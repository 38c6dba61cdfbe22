package gateway

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/caddy-mfa/caddy-mfa/policy"
)

// The identity headers, in canonical form so setting them needs no canonicalisation.
const (
	headerUser     = "X-Mfa-User"
	headerGroups   = "X-Mfa-Groups"
	headerAuthType = "X-Mfa-Auth-Type"
	headerPresent  = "X-Mfa-Present"
	headerAge      = "X-Mfa-Age"
	headerMethod   = "X-Mfa-Method"
)

// constant builds a header value that may be shared by every request: its capacity is its
// length, so an Add by a later handler copies it instead of writing into it.
func constant(v string) []string { return []string{v}[:1:1] }

// Values that never change, made once instead of on every request.
var (
	authTypeValues = map[string][]string{}
	methodValues   = map[string][]string{}
	trueValue      = constant("true")
	falseValue     = constant("false")
)

func init() {
	for _, a := range []string{policy.AuthAnonymous, policy.AuthSession, policy.AuthAccessKey, policy.AuthToken, policy.AuthExternal} {
		authTypeValues[a] = constant(a)
	}
	for _, m := range policy.Methods {
		methodValues[m] = constant(m)
	}
}

// userValues caches each user's X-MFA-User and X-MFA-Groups values, so a request from a known
// caller sets them without allocating. Bounded: the least recent users are forgotten.
type userValues struct {
	cache *lru.Cache[string, *userHeader]
}

type userHeader struct {
	groups []string // the groups these values were made from
	user   []string
	joined []string
}

const userValuesSize = 4096

func newUserValues() userValues {
	c, _ := lru.New[string, *userHeader](userValuesSize)
	return userValues{cache: c}
}

func (u *userValues) get(user string, groups []string) *userHeader {
	if h, ok := u.cache.Get(user); ok && slices.Equal(h.groups, groups) {
		return h
	}
	h := &userHeader{groups: slices.Clone(groups), user: constant(user)}
	if len(groups) > 0 {
		h.joined = constant(strings.Join(groups, ","))
	}
	u.cache.Add(user, h)
	return h
}

// setIdentityHeaders tells the upstream who is calling. Whatever the client sent under these
// names is removed first, so nobody can claim an identity by sending the header.
func (g *Gate) setIdentityHeaders(h http.Header, c *Caller, ctx *policy.Context) {
	for name := range h {
		if len(name) >= 6 && strings.EqualFold(name[:6], "X-Mfa-") {
			delete(h, name)
		}
	}
	h[headerAuthType] = authTypeValues[c.AuthType]
	if c.AuthType == policy.AuthAnonymous {
		return
	}
	uv := g.users.get(c.Claims.User, c.Claims.Groups)
	h[headerUser] = uv.user
	if uv.joined != nil {
		h[headerGroups] = uv.joined
	}
	if c.AuthType == policy.AuthAccessKey {
		return // mfa:Present is absent for long-term keys, and so is the header
	}
	if !ctx.MFAPresent {
		h[headerPresent] = falseValue
		return
	}
	h[headerPresent] = trueValue
	h[headerAge] = []string{strconv.FormatInt(int64(ctx.Time.Sub(ctx.MFATime).Seconds()), 10)}
	if m, ok := methodValues[ctx.MFAMethod]; ok {
		h[headerMethod] = m
	}
}
