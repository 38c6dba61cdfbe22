package policy

import (
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
)

// TestResourceHeadAgreesWithTheGlob: the literal-head pre-check in resource.match decides as
// the glob alone does (globMatch, the match of before the pre-check). Random resources and paths over a small alphabet (so that near misses
// are common): wildcards, IAM's literal ${*}, ${?} and ${$}, a variable that expands, hosts,
// and paths holding the characters the literals stand for; with and without case folding.
func TestResourceHeadAgreesWithTheGlob(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 2026))
	patternPieces := []string{"/", "a", "b", "A", "*", "?", "${*}", "${?}", "${$}", "${user:Id}"}
	pathPieces := []string{"/", "a", "b", "A", "*", "?", "$", "{", "}"}
	hosts := []string{"", "h.example.com", "*.example.com", "${user:Id}.example.com"}
	ctx := &Context{UserID: "a*", AuthType: AuthToken, Method: "GET"}
	matched := 0
	for range 50000 {
		pattern := hosts[rng.IntN(len(hosts))] + "/"
		for range rng.IntN(6) {
			pattern += patternPieces[rng.IntN(len(patternPieces))]
		}
		if rng.IntN(50) == 0 {
			pattern = "*"
		}
		r, err := parseResource(pattern)
		if err != nil {
			t.Fatalf("%q: %v", pattern, err)
		}
		var path strings.Builder
		path.WriteString("/")
		for range rng.IntN(6) {
			path.WriteString(pathPieces[rng.IntN(len(pathPieces))])
		}
		ctx.Path, ctx.Host = path.String(), []string{"h.example.com", "a*.example.com", "x.org"}[rng.IntN(3)]
		for _, fold := range []bool{false, true} {
			got, want := r.match(ctx, fold), r.globMatch(ctx, fold)
			if got != want {
				t.Fatalf("resource %q, host %q, path %q, fold %v: match %v, the glob alone %v", pattern, ctx.Host, ctx.Path, fold, got, want)
			}
			if got {
				matched++
			}
		}
	}
	if matched < 1000 {
		t.Fatalf("only %d of 100,000 judgements matched: the test would not see a wrong refusal", matched)
	}
}

// TestActionEqualityAgreesWithTheGlob: actionHit's shortcut (a pattern equal to the method)
// decides as the glob alone does, for every pattern and method up to three characters over an
// alphabet that includes the wildcards and HEAD's letters.
func TestActionEqualityAgreesWithTheGlob(t *testing.T) {
	alphabet := []string{"G", "E", "T", "H", "*", "?"}
	var words []string
	var grow func(string)
	grow = func(w string) {
		words = append(words, w)
		if len(w) < 3 {
			for _, c := range alphabet {
				grow(w + c)
			}
		}
	}
	grow("")
	words = append(words, "GET", "HEAD", "get")
	for _, p := range words {
		c := compiled{actions: []string{wildcards(strings.ToUpper(p))}}
		for _, method := range words {
			want := glob(c.actions[0], method) || method == http.MethodHead && glob(c.actions[0], "GET")
			if got := c.actionHit(method); got != want {
				t.Fatalf("action %q, method %q: %v, the glob alone %v", p, method, got, want)
			}
		}
	}
}
