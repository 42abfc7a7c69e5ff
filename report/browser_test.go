package report

// The harness of the HTML report's browser tests: one headless Chromium for
// the package (started on first use, stopped by TestMain), a tab per test
// that records console errors, uncaught exceptions and any network request,
// and the image comparison of the screenshot test.

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
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

func TestMain(m *testing.M) {
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

func (b *browserProc) stop() {
	for _, c := range b.cancel {
		c()
	}
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}

// tab is one page under test.
type tab struct {
	t   *testing.T
	ctx context.Context
	mu  sync.Mutex
	bad []string // console errors, exceptions, network requests
}

// tabOptions set up a tab before the page loads.
type tabOptions struct {
	dark     bool // prefers-color-scheme: dark
	noScript bool
	width    int64 // viewport; default 1200×900
	height   int64
}

// openHTML writes page to a file, opens it from disk in a new tab and
// waits for its script (unless scripts are off). The test fails at its end
// if the page wrote a console error, threw, or fetched anything.
func openHTML(t *testing.T, page []byte, o tabOptions) *tab {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(path, page, 0o644); err != nil {
		t.Fatal(err)
	}
	tb := newTab(t, o)
	tb.navigate(path, !o.noScript)
	return tb
}

func newTab(t *testing.T, o tabOptions) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser(t))
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	tb := &tab{t: t, ctx: ctx}
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
	t.Cleanup(tb.checkClean) // runs before the tab closes, being registered after
	w, h := o.width, o.height
	if w == 0 {
		w, h = 1200, 900
	}
	scheme := "light"
	if o.dark {
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
		if o.noScript {
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

// use hands the tab to a subtest, which checks the page it opens.
func (tb *tab) use(t *testing.T) {
	parent := tb.t
	tb.t = t
	t.Cleanup(func() {
		tb.checkClean()
		tb.t = parent
	})
}

// openFile writes page to a file and opens it in tb, as openHTML does.
func (tb *tab) openFile(page []byte) {
	tb.t.Helper()
	path := filepath.Join(tb.t.TempDir(), "report.html")
	if err := os.WriteFile(path, page, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	tb.navigate(path, true)
}

func (tb *tab) add(s string) {
	tb.mu.Lock()
	tb.bad = append(tb.bad, s)
	tb.mu.Unlock()
}

// navigate opens path and, with ready, waits for the script to finish.
func (tb *tab) navigate(path string, ready bool) {
	tb.t.Helper()
	tb.do(chromedp.Navigate("file://" + path))
	if ready {
		tb.do(chromedp.Poll[chromedp.Void](`document.documentElement.dataset.ready === '1'`,
			chromedp.WithPollingTimeout(time.Minute)))
	}
}

// checkClean fails the test if the page misbehaved. A last round trip lets
// the events of the test's own actions arrive first.
func (tb *tab) checkClean() {
	_, _ = chromedp.Run(tb.ctx, chromedp.Evaluate[int]("1"))
	time.Sleep(50 * time.Millisecond)
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, s := range tb.bad {
		tb.t.Errorf("page: %s", s)
	}
	tb.bad = nil
}

func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, actions...); err != nil {
		tb.t.Fatal(err)
	}
}

// eval runs a JavaScript expression in the page and decodes its value.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		tb.t.Fatalf("evaluating %.80q: %v", expr, err)
	}
	return v
}

// The screenshot comparison. Both images are reduced to grey and halved
// (each pixel the mean of a 2×2 block), which keeps the golden file small
// and forgives sub-pixel differences of anti-aliasing; then a pixel differs
// when its grey level is off by more than diffLevel, and the images match
// when at most maxDiffShare of the pixels differ and their sizes are within
// maxSizeShare of each other.
const (
	diffLevel    = 48
	maxDiffShare = 0.02
	maxSizeShare = 0.03
)

// shrink returns img in grey at half size.
func shrink(img image.Image) *image.Gray {
	b := img.Bounds()
	out := image.NewGray(image.Rect(0, 0, b.Dx()/2, b.Dy()/2))
	for y := 0; y < out.Rect.Dy(); y++ {
		for x := 0; x < out.Rect.Dx(); x++ {
			var sum uint32
			for _, d := range [4][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
				sum += uint32(color.GrayModel.Convert(img.At(b.Min.X+2*x+d[0], b.Min.Y+2*y+d[1])).(color.Gray).Y)
			}
			out.Pix[y*out.Stride+x] = uint8(sum / 4)
		}
	}
	return out
}

// compareImages says how got differs from want (both already shrunk): an
// error when they do not match, and the share of differing pixels.
func compareImages(got, want *image.Gray) (float64, error) {
	gw, gh, ww, wh := got.Rect.Dx(), got.Rect.Dy(), want.Rect.Dx(), want.Rect.Dy()
	if ww == 0 || wh == 0 {
		return 1, fmt.Errorf("empty golden image")
	}
	if abs(gw-ww) > int(maxSizeShare*float64(ww)) || abs(gh-wh) > int(maxSizeShare*float64(wh)) {
		return 1, fmt.Errorf("size %d×%d, golden %d×%d", gw, gh, ww, wh)
	}
	w, h := max(gw, ww), max(gh, wh)
	var differ int
	for y := range h {
		for x := range w {
			a, b := grayAt(got, x, y), grayAt(want, x, y)
			if abs(int(a)-int(b)) > diffLevel {
				differ++
			}
		}
	}
	share := float64(differ) / float64(w*h)
	if share > maxDiffShare {
		return share, fmt.Errorf("%.2f%% of the pixels differ (at most %.2f%% may)", 100*share, 100*maxDiffShare)
	}
	return share, nil
}

// grayAt is the grey level at x, y, white outside the image.
func grayAt(g *image.Gray, x, y int) uint8 {
	if x >= g.Rect.Dx() || y >= g.Rect.Dy() {
		return 255
	}
	return g.Pix[y*g.Stride+x]
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// goldenImage compares a screenshot with testdata/name (or rewrites it
// with -update). On a mismatch it keeps the shrunk screenshot beside the
// temporary files and names it, to look at.
func goldenImage(t *testing.T, name string, shot []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	got := shrink(img)
	path := filepath.Join("testdata", name)
	if *update {
		var buf bytes.Buffer
		enc := png.Encoder{CompressionLevel: png.BestCompression}
		if err := enc.Encode(&buf, got); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -run Screenshot -update to create it)", err)
	}
	defer f.Close()
	wantImg, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	want, ok := wantImg.(*image.Gray)
	if !ok {
		t.Fatalf("%s: not a grey image", path)
	}
	share, err := compareImages(got, want)
	t.Logf("screenshot vs %s: %.3f%% of the pixels differ", path, 100*share)
	if err != nil {
		keep := filepath.Join(os.TempDir(), "tcpflow-check-"+strings.ReplaceAll(name, "/", "-"))
		var buf bytes.Buffer
		if png.Encode(&buf, got) == nil && os.WriteFile(keep, buf.Bytes(), 0o644) == nil {
			t.Errorf("screenshot differs from %s: %v; the screenshot is %s", path, err, keep)
		} else {
			t.Errorf("screenshot differs from %s: %v", path, err)
		}
	}
}
