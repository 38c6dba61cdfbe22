package policy

import (
	"math/rand/v2"
	"testing"
)

// TestResourceHeadAgreesWithTheGlob: the literal-head pre-check in resource.match only ever
// refuses what the glob refuses. Random patterns and paths over a small alphabet (so that
// near misses are common), with and without wildcards, IAM's literal ${*} and ${?}, and
// variables, each judged with and without case folding against the glob alone.
func TestResourceHeadAgreesWithTheGlob(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 2026))
	pieces := []string{"/", "a", "b", "A", "*", "?", "${*}", "${?}", "${user:Id}"}
	ctx := &Context{UserID: "ab", Method: "GET"}
	for range 20000 {
		pattern := "/"
		for range rng.IntN(6) {
			pattern += pieces[rng.IntN(len(pieces))]
		}
		r, err := parseResource(pattern)
		if err != nil {
			t.Fatalf("%q: %v", pattern, err)
		}
		path := "/"
		for range rng.IntN(6) {
			path += pieces[rng.IntN(4)]
		}
		ctx.Path = path
		for _, fold := range []bool{false, true} {
			p, ok := r.path.expand(ctx)
			want := r.any || ok && wildMatch(p, path, fold)
			if got := r.match(ctx, fold); got != want {
				t.Fatalf("resource %q, path %q, fold %v: match %v, the glob alone %v", pattern, path, fold, got, want)
			}
		}
	}
}
