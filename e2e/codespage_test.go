package e2e

import (
	"context"
	"net/http"
	"regexp"
	"strings"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

var recoveryCodeFormat = regexp.MustCompile(`^[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$`)

// codesPageFacts reads the codes page: its Continue (path and query), the download's name and
// URL, and whether Copy all and Print show (they need the script).
const codesPageFacts = `(() => {
  const done = new URL(document.querySelector("#done").href);
  const dl = document.querySelector("a[download]");
  const shown = sel => { const b = document.querySelector(sel); return b && !b.hidden ? "shown" : "hidden"; };
  return [done.pathname + done.search, dl.getAttribute("download"), decodeURIComponent(dl.href),
    shown("button[data-copy-value][data-status=copied-all]"), shown("button[data-print]")];
})()`

// passFirstCodes checks the page of a first enrolment's recovery codes that the tab shows: ten
// distinct codes, Copy all, a .txt download holding them, Print, and a Continue to wantNext,
// which it then follows. It returns the codes.
func (b tab) passFirstCodes(wantNext string) []string {
	b.t.Helper()
	b.do("the recovery codes page", chromedp.WaitVisible(chromedp.CSS("#done")), screenshot("first-codes"))
	codes, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("ul.secrets code.secret")].map(e => e.textContent)`))
	if err != nil {
		b.t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, code := range codes {
		if !recoveryCodeFormat.MatchString(code) || seen[code] {
			b.t.Fatalf("recovery code %q: not of the format, or shown twice", code)
		}
		seen[code] = true
	}
	facts, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](codesPageFacts))
	if err != nil {
		b.t.Fatal(err)
	}
	if len(codes) != 10 || facts[0] != wantNext || facts[1] != "recovery-codes.txt" || facts[3] != "shown" || facts[4] != "shown" {
		b.t.Fatalf("codes page: %d codes, facts %q, want Continue to %q", len(codes), facts, wantNext)
	}
	for _, code := range codes {
		if !strings.Contains(facts[2], code) {
			b.t.Fatalf("the download lacks %s", code)
		}
	}
	b.printsOnlyTheCodes()
	b.do("continue", chromedp.Click(chromedp.CSS("#done")), chromedp.WaitNotPresent(chromedp.CSS("#done")))
	return codes
}

// codesWorkOnce passes a factor with each code, once, in a session of user; a code used
// already is refused.
func (n *node) codesWorkOnce(user string, codes []string) {
	t := n.t
	t.Helper()
	c := n.signIn(t, user)
	for i, code := range codes {
		var passed struct {
			CSRFToken string `json:"csrf_token"`
		}
		if status := c.call("POST", "/.mfa/api/verify", map[string]string{"code": code}, &passed); status != http.StatusOK {
			t.Fatalf("recovery code %d: %d", i, status)
		}
		c.csrf = passed.CSRFToken // the new session's
	}
	if status := c.call("POST", "/.mfa/api/verify", map[string]string{"code": codes[0]}, nil); status != http.StatusForbidden {
		t.Fatalf("a used recovery code: %d", status)
	}
}

// printedParts lists what the page prints: the visible parts of its card, and of its header.
const printedParts = `[...document.querySelectorAll("header, main .card > *")]
  .filter(e => getComputedStyle(e).display !== "none").map(e => e.tagName.toLowerCase() + "." + e.className)`

// printsOnlyTheCodes checks the print stylesheet: whose codes they are, and the codes.
func (b tab) printsOnlyTheCodes() {
	b.t.Helper()
	printing := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
		return err
	})
	b.do("print", printing)
	parts, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](printedParts))
	b.do("back to the screen", colorScheme(""))
	if err != nil || strings.Join(parts, " ") != "p.print-only ul.secrets codes" {
		b.t.Fatalf("printing shows %q (%v), want the owner line and the codes", parts, err)
	}
}
