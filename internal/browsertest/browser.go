package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Main runs a package's tests and then stops the browser they shared. Call
// it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	shared.stop()
	os.Exit(code)
}

// shared is the package's browser.
var shared browserProc

type browserProc struct {
	once   sync.Once
	path   string
	dir    string
	ctx    context.Context
	cancel []context.CancelFunc
	err    error
}

// chromiumPath finds the browser: $CHROMIUM, else the usual names on PATH.
func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser returns the shared browser's context, starting it on first use
// with the flags a closed network and root need; the test is skipped where
// no Chromium is installed.
func browser(t *testing.T) context.Context {
	t.Helper()
	b := &shared
	b.once.Do(func() {
		if b.path = chromiumPath(); b.path == "" {
			return
		}
		if b.dir, b.err = os.MkdirTemp("", "tcpflow-check-chromium-"); b.err != nil {
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(b.path),
			chromedp.NoSandbox, // root in CI
			chromedp.DisableGPU,
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.UserDataDir(b.dir),
			chromedp.WindowSize(1200, 900),
			chromedp.Flag("hide-scrollbars", true),
			chromedp.Flag("force-color-profile", "srgb"),
			chromedp.Flag("font-render-hinting", "none"),
			chromedp.Flag("lang", "en-US"),
			// chromedp gives the browser 20 s to say where it listens,
			// which a loaded machine can exceed; this only bounds a hang.
			chromedp.WSURLReadTimeout(2*time.Minute),
		)
		actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, cancelBrowser := chromedp.NewContext(actx)
		b.cancel = []context.CancelFunc{cancelBrowser, cancelAlloc}
		b.ctx = bctx
		b.err = chromedp.Do(bctx) // starts it
	})
	if b.path == "" {
		t.Skip("SKIP browser test: no Chromium installed (apt-get install chromium, or set CHROMIUM to the browser)")
	}
	if b.err != nil {
		t.Fatalf("starting %s: %v", b.path, b.err)
	}
	return b.ctx
}

// Require starts the shared browser, or skips t where none is installed.
func Require(t *testing.T) { browser(t) }

func (b *browserProc) stop() {
	for _, c := range b.cancel {
		c()
	}
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}

// Tab is one page under test.
type Tab struct {
	t   *testing.T
	ctx context.Context
	mu  sync.Mutex
	bad []string // console errors, exceptions, network requests
}

// Options set up a tab before the page loads.
type Options struct {
	Dark     bool // prefers-color-scheme: dark
	NoScript bool
	Width    int64 // viewport; default 1200×900
	Height   int64
}

// Open writes page to a file, opens it from disk in a new tab and waits for
// its script to mark <html data-ready="1"> (unless scripts are off). The
// test fails at its end if the page wrote a console error, threw, or
// fetched anything.
func Open(t *testing.T, page []byte, o Options) *Tab {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(path, page, 0o644); err != nil {
		t.Fatal(err)
	}
	tb := NewTab(t, o)
	tb.Navigate(path, !o.NoScript)
	return tb
}

// NewTab opens an empty tab in the shared browser, set up as o says; the
// test is skipped where no Chromium is installed.
func NewTab(t *testing.T, o Options) *Tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser(t))
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	tb := &Tab{t: t, ctx: ctx}
	t.Cleanup(func() { cancelTimeout(); cancel() })
	msgs := chromedp.Console(ctx)
	reqs := chromedp.Events(ctx, network.RequestWillBeSent)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == "error" || m.Type == "assert" || m.Type == "warning" {
				tb.add(fmt.Sprintf("console %s (%s:%d)", m, m.URL, m.Line+1))
			}
		}
	}()
	go func() {
		for ev, err := range reqs {
			if err != nil {
				return
			}
			if u := ev.Request.URL; !strings.HasPrefix(u, "file://") {
				tb.add("network request: " + u)
			}
		}
	}()
	t.Cleanup(tb.checkClean) // registered after the close, so it runs before it
	w, h := o.Width, o.Height
	if w == 0 {
		w, h = 1200, 900
	}
	scheme := "light"
	if o.Dark {
		scheme = "dark"
	}
	setup := func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: w, Height: h, DeviceScaleFactor: 1}); err != nil {
			return err
		}
		if _, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}}); err != nil {
			return err
		}
		if o.NoScript {
			_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
			return err
		}
		return nil
	}
	if err := chromedp.Do(ctx, chromedp.Func(setup)); err != nil {
		t.Fatalf("setting up the tab: %v", err)
	}
	return tb
}

// Use hands the tab to a subtest, which checks the page it opens.
func (tb *Tab) Use(t *testing.T) {
	parent := tb.t
	tb.t = t
	t.Cleanup(func() {
		tb.checkClean()
		tb.t = parent
	})
}

// OpenFile writes page to a file and opens it in tb, as Open does.
func (tb *Tab) OpenFile(page []byte) {
	tb.t.Helper()
	path := filepath.Join(tb.t.TempDir(), "report.html")
	if err := os.WriteFile(path, page, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	tb.Navigate(path, true)
}

func (tb *Tab) add(s string) {
	tb.mu.Lock()
	tb.bad = append(tb.bad, s)
	tb.mu.Unlock()
}

// Navigate opens path and, with ready, waits for the script to finish.
func (tb *Tab) Navigate(path string, ready bool) {
	tb.t.Helper()
	tb.Do(chromedp.Navigate("file://" + path))
	if ready {
		tb.Do(chromedp.Poll[chromedp.Void](`document.documentElement.dataset.ready === '1'`,
			chromedp.WithPollingTimeout(time.Minute)))
	}
}

// WaitFor polls the JavaScript expression until it is true. The minute only
// bounds a hang: it returns as soon as the page gets there. Use it for what
// the page draws after it marks itself ready, such as an open ladder (drawn
// by an IntersectionObserver callback).
func (tb *Tab) WaitFor(expr string) {
	tb.t.Helper()
	tb.Do(chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(time.Minute)))
}

// checkClean fails the test if the page misbehaved. A last round trip lets
// the events of the test's own actions arrive first.
func (tb *Tab) checkClean() {
	_, _ = chromedp.Run(tb.ctx, chromedp.Evaluate[int]("1"))
	time.Sleep(50 * time.Millisecond)
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, s := range tb.bad {
		tb.t.Errorf("page: %s", s)
	}
	tb.bad = nil
}

// Do runs actions in the tab; an error fails the test.
func (tb *Tab) Do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, actions...); err != nil {
		tb.t.Fatal(err)
	}
}

// Context is the tab's chromedp context, for actions that return values.
func (tb *Tab) Context() context.Context { return tb.ctx }

// Eval runs a JavaScript expression in the page and decodes its value.
func Eval[T any](tb *Tab, expr string) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.t.Fatalf("evaluating %.80q: %v", expr, err)
	}
	return v
}
