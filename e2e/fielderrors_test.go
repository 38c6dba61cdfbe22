package e2e

import (
	"strings"

	"github.com/chromedp/chromedp"
)

// focusFacts reads where the focus is: the element's id, its aria-invalid, and the text of what
// its aria-describedby names.
const focusFacts = `(() => {
  const a = document.activeElement;
  const note = document.getElementById(a.getAttribute("aria-describedby") || "");
  return [a.id, a.getAttribute("aria-invalid") || "", note ? note.textContent : ""];
})()`

// checkFailed looks at a page drawn after a failed form: the focus is in the input wantFocus,
// which is marked invalid and described by a message saying want; then the page checks
// (widths, light and dark, axe) with the error shown.
func (b pageChecker) checkFailed(name, wantFocus, want string) {
	b.t.Helper()
	facts, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](focusFacts))
	if err != nil {
		b.t.Fatal(err)
	}
	if facts[0] != wantFocus || facts[1] != "true" || !strings.Contains(facts[2], want) {
		b.t.Errorf("%s: focus on #%s (aria-invalid %q, described by %q), want #%s described by %q", name, facts[0], facts[1], facts[2], wantFocus, want)
	}
	b.check(name)
}
