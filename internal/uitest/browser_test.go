package uitest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPaths are where Chromium is looked for, first where Debian's
// package installs it.
var chromiumPaths = []string{"/usr/bin/chromium", "chromium", "chromium-browser"}

// findChromium is the Chromium binary; without one, the test is skipped
// with how to install it. Nothing else skips: a Chromium that does not
// start or a page that does not show what it should fails the test.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, p := range chromiumPaths {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Skipf("no Chromium binary (looked for %s): this test reads the Temporal UI in a real browser; install one with `apt-get install chromium`",
		strings.Join(chromiumPaths, ", "))
	return ""
}

// browser is a headless Chromium that reads pages as a person sees them,
// after the UI's JavaScript has rendered them.
type browser struct {
	ctx   context.Context
	shots int
}

// startBrowser starts headless Chromium with a fresh profile; it stops
// when the test ends.
func startBrowser(t *testing.T, path string) *browser {
	t.Helper()
	// The network is closed: without these flags Chromium stalls on its own
	// connection attempts (QUIC, component updates, sync, field trials).
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1440, 1000),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first action on ctx starts the browser, which lives as long as
	// ctx: a deadline of its own would stop the browser with it.
	tooLong := time.AfterFunc(pageWait, cancel)
	err := chromedp.Do(ctx)
	if !tooLong.Stop() {
		t.Fatalf("Chromium %s did not start within %s", path, pageWait)
	}
	if err != nil {
		t.Fatalf("start Chromium %s: %v", path, err)
	}
	return &browser{ctx: ctx}
}

// pageWait bounds how long a page may take to show what a test waits for.
const pageWait = 30 * time.Second

// open loads a URL.
func (b *browser) open(t testing.TB, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, pageWait)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s in Chromium: %v", url, err)
	}
}

// click clicks the element that matches a CSS selector once it is visible.
func (b *browser) click(t testing.TB, what, selector string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, pageWait)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(selector), chromedp.NodeVisible)); err != nil {
		t.Fatalf("the UI did not show %s (%s) to click within %s: %v; screenshot at %s", what, selector, pageWait, err, b.screenshot(t, "no-"+what))
	}
}

// reloadEvery is how often a page that lacks what a test waits for is
// loaded again: Temporal's visibility store, which the list reads, shows a
// change a moment after the workflow made it, and a workflow's current
// details are read once, when its page loads.
const reloadEvery = 5 * time.Second

// waitFor evaluates a JavaScript expression that reads the page until
// check finds nothing missing in its value, and returns the value. When
// something is still missing after pageWait, the test fails saying what,
// with a screenshot of the page and what the expression read.
func (b *browser) waitFor(t testing.TB, what, expression string, check func(string) (missing string)) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, pageWait)
	defer cancel()
	var got, missing string
	reload := time.Now().Add(reloadEvery)
	for {
		if time.Now().After(reload) {
			_ = chromedp.Do(ctx, chromedp.Reload())
			reload = time.Now().Add(reloadEvery)
		}
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expression))
		switch {
		case err == nil:
			got = v
			if missing = check(v); missing == "" {
				return v
			}
		case ctx.Err() == nil:
			missing = "a readable page (" + err.Error() + ")"
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the UI did not show %s within %s: missing %s; screenshot at %s; it read:\n%s",
				what, pageWait, missing, b.screenshot(t, "no-"+what), got)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// contains is a check that finds each of want in the value.
func contains(want ...string) func(string) string {
	return func(got string) string {
		var missing []string
		for _, w := range want {
			if !strings.Contains(got, w) {
				missing = append(missing, fmt.Sprintf("%q", w))
			}
		}
		return strings.Join(missing, ", ")
	}
}

// screenshot saves the whole page as a PNG among the test's artifacts
// (under -outputdir with -artifacts, else in a temporary directory) and
// returns its path.
func (b *browser) screenshot(t testing.TB, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return "(none: " + err.Error() + ")"
	}
	b.shots++
	name = strings.Map(func(r rune) rune {
		if r == ' ' || r == '/' || r == '"' || r == '\'' {
			return '-'
		}
		return r
	}, name)
	path := filepath.Join(t.ArtifactDir(), fmt.Sprintf("%02d-%s.png", b.shots, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return "(none: " + err.Error() + ")"
	}
	return path
}
