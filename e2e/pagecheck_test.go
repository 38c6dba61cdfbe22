package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// axePath is where `make test` installs axe-core from the npm registry (e2e/node is ignored
// by git). The page checks read it and fail, never skip, without it: an accessibility check
// that quietly does not run is worse than none.
const axePath = "node/node_modules/axe-core/axe.min.js"

// axeSource is axe-core's script, or the test fails saying how to install it.
func axeSource(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(axePath)
	if err != nil {
		t.Fatalf("axe-core is missing (%v): run `make test`, or `npm install --prefix e2e/node axe-core@4`", err)
	}
	return string(src)
}

// The widths a page must fit: a laptop, a common phone, and the narrowest phone in use.
var checkWidths = []int64{1280, 390, 320}

// overflowJS measures the page's width, the window's, and how many cards have content wider
// than themselves (which may not scroll the page, yet sticks out of the card).
const overflowJS = `[document.documentElement.scrollWidth,
  Math.min(window.innerWidth, document.documentElement.clientWidth),
  [...document.querySelectorAll(".card")].filter(c => c.scrollWidth > c.clientWidth + 1).length]`

// axeRun runs axe-core's WCAG 2.0 and 2.1 A and AA rules and returns one line per violation.
const axeRun = `axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
  .then(r => r.violations.map(v => v.id + " (" + v.impact + "): " + v.help + " at " +
    v.nodes.map(n => n.target.join(" ")).join(", ")))`

// pageChecker looks at each page of a walk as users and their tools do: at every width in
// light and dark, for sideways scroll and WCAG 2.1 AA violations, keeping a screenshot of each.
type pageChecker struct {
	tab
	axe string
}

// check looks at the page the tab shows now; name prefixes its screenshots.
func (b pageChecker) check(name string) {
	b.t.Helper()
	for _, width := range checkWidths {
		for _, scheme := range []string{"light", "dark"} {
			b.look(name, width, scheme)
		}
	}
	b.do("back to the laptop width", b.viewport(1280), colorScheme(""))
}

func (b pageChecker) look(name string, width int64, scheme string) {
	b.t.Helper()
	where := fmt.Sprintf("%s at %d px, %s", name, width, scheme)
	b.do(where, b.viewport(width), colorScheme(scheme))
	sizes, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]int64](overflowJS))
	if err != nil {
		b.t.Fatalf("%s: %v", where, err)
	}
	shot := fmt.Sprintf("pages-%s-%d-%s", name, width, scheme)
	b.do(where, screenshot(shot))
	if sizes[0] > sizes[1] {
		b.t.Errorf("%s scrolls sideways: %d px of content in %d px (see artifacts/%s.png)", where, sizes[0], sizes[1], shot)
	}
	if sizes[2] > 0 {
		b.t.Errorf("%s: %d cards have content sticking out (see artifacts/%s.png)", where, sizes[2], shot)
	}
	if width == 320 {
		return // axe's rules do not change with the last few pixels
	}
	for _, v := range b.violations() {
		b.t.Errorf("%s: axe: %s", where, v)
	}
}

// violations runs axe-core on the page, injecting it first where the page has not got it.
func (b pageChecker) violations() []string {
	b.t.Helper()
	has, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`typeof window.axe === "object"`))
	if err == nil && !has {
		_, err = chromedp.Run(b.ctx, chromedp.Evaluate[chromedp.Void](b.axe))
	}
	var found []string
	if err == nil {
		found, err = chromedp.Run(b.ctx, chromedp.Evaluate[[]string](axeRun, chromedp.EvalAwaitPromise))
	}
	if err != nil {
		b.t.Fatalf("running axe-core: %v", err)
	}
	return found
}

// viewport is a window of width px. Not a mobile one: a phone's browser zooms out to show a
// page that is too wide, which would hide the very overflow the check looks for.
func (b pageChecker) viewport(width int64) chromedp.Action[chromedp.Void] {
	return chromedp.EmulateViewport(width, 844)
}

// colorScheme makes the page see prefers-color-scheme: scheme ("": the browser's own).
func colorScheme(scheme string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		p := emulation.SetEmulatedMediaParams{}
		if scheme != "" {
			p.Features = []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}
		}
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, p)
		return err
	})
}

// openAll opens every <details> on the page, so the checks see what a curious user would.
func openAll() chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("details").forEach(d => d.open = true)`)
}

// csvOf is a hardware-token import file of serial and secret pairs.
func csvOf(pairs ...string) string {
	var b strings.Builder
	b.WriteString("serial,secret\n")
	for i := 0; i+1 < len(pairs); i += 2 {
		b.WriteString(pairs[i] + "," + pairs[i+1] + "\n")
	}
	return b.String()
}

// keepArtifact writes name into e2e/artifacts.
func keepArtifact(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.MkdirAll("artifacts", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("artifacts", name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}
