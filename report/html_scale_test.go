package report

import (
	"bufio"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tcpflow-check/tcpflow-check/internal/browsertest"
	"github.com/tcpflow-check/tcpflow-check/internal/pcapgen"
)

// TestHTMLBrowser100kConnections measures (and logs; it asserts no time)
// what a report of 100,000 connections costs: the page's size, and how long
// Chromium takes to open it, sort it, filter it and draw a ladder. Run it
// with -v to see the figures. It checks that the page works at that size.
func TestHTMLBrowser100kConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the 100,000-connection report is not measured")
	}
	browsertest.Require(t)
	const conns = 100_000
	path := filepath.Join(t.TempDir(), "100k.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	pkts, err := pcapgen.WriteSynthetic(bw, pcapgen.Synthetic{Conns: conns, Concurrent: 1000})
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	page, _ := renderHTML(t, false, path)
	analysis := time.Since(start)
	t.Logf("%d connections, %d packets: analysis and page %v; page %.1f MB (%.0f bytes a connection)",
		conns, pkts, analysis.Round(time.Millisecond), float64(len(page))/1e6, float64(len(page))/conns)

	file := filepath.Join(t.TempDir(), "100k.html")
	if err := os.WriteFile(file, page, 0o644); err != nil {
		t.Fatal(err)
	}
	tb := browsertest.NewTab(t, browsertest.Options{})
	start = time.Now()
	tb.Navigate(file, true)
	open := time.Since(start)
	boot := browsertest.Eval[string](tb, `document.documentElement.dataset.bootMs`)
	loaded := browsertest.Eval[float64](tb, `performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd`)
	t.Logf("opened in Chromium in %v (navigation to ready); DOMContentLoaded at %.0f ms; the script's setup %s ms",
		open.Round(time.Millisecond), loaded, boot)

	if got := browsertest.Eval[string](tb, `document.querySelector('#table-app .shown').textContent`); got != "showing 100,000 of 100,000" {
		t.Errorf("table says %q", got)
	}
	if n := browsertest.Eval[int](tb, `document.querySelectorAll('#table-app tbody tr[data-i]').length`); n == 0 || n > 100 {
		t.Errorf("%d rows in the DOM: the table is not virtual", n)
	}
	// Interactions, timed inside the page (the handler and the layout it
	// causes); DevTools' DOM queries would drag the 20 MB data text along
	// and measure the protocol instead.
	timed := func(what, js string) {
		ms := browsertest.Eval[float64](tb, `(() => {
		  const t = performance.now();
		  `+js+`;
		  document.body.offsetHeight;
		  return performance.now() - t;
		})()`)
		t.Logf("%s: %.0f ms", what, ms)
	}
	timed("sort by duration (click)", `document.querySelector('#table-app th[data-col="8"]').click()`)
	timed("sort by duration again, descending (click)", `document.querySelector('#table-app th[data-col="8"]').click()`)
	timed("sort by client address (click)", `document.querySelector('#table-app th[data-col="1"]').click()`)
	timed("filter by address 198.18.0.2:2000", `const a = document.querySelector('#table-app input[name=addr]');
	  a.value = '198.18.0.2:2000'; window.tcpflowCheck.table.filter()`)
	shown := browsertest.Eval[string](tb, `document.querySelector('#table-app .shown').textContent`)
	timed("filter by port 10001", `document.querySelector('#table-app input[name=addr]').value = '';
	  document.querySelector('#table-app input[name=port]').value = '10001'; window.tcpflowCheck.table.filter()`)
	timed("draw a ladder (click a row)", `document.querySelector('#table-app tbody tr[data-i] td').click()`)
	if n := browsertest.Eval[int](tb, `document.querySelectorAll('#detail svg.ladder g.seg').length`); n != pcapgen.SyntheticPacketsPerConn {
		t.Errorf("the ladder of a synthetic connection has %d arrows, want %d", n, pcapgen.SyntheticPacketsPerConn)
	}
	timed("clear the filters (click)", `document.querySelector('#table-app button[name=clear]').click()`)
	timed("scroll the table to the middle", `const s = document.querySelector('#table-app .scroll');
	  s.scrollTop = s.scrollHeight / 2; window.tcpflowCheck.table.render()`)
	t.Logf("filter by address kept: %s", shown)
	if n := browsertest.Eval[int](tb, `window.tcpflowCheck.data.rows.filter(r => r[20]).length`); n < conns/2 {
		t.Errorf("only %d of %d connections have their segments on the page", n, conns)
	} else {
		t.Logf("%d of %d connections have their segments on the page", n, conns)
	}
}

// TestCompareImages checks the screenshot comparison itself: an image
// matches itself and a copy with faint noise, and fails with a block of it
// changed or with another size.
func TestCompareImages(t *testing.T) {
	base := image.NewGray(image.Rect(0, 0, 200, 100))
	for i := range base.Pix {
		base.Pix[i] = uint8(i * 7 % 256)
	}
	same := *base
	same.Pix = append([]uint8(nil), base.Pix...)
	if _, err := browsertest.Compare(&same, base); err != nil {
		t.Errorf("an image against itself: %v", err)
	}
	noisy := *base
	noisy.Pix = append([]uint8(nil), base.Pix...)
	for i := range noisy.Pix {
		noisy.Pix[i] = uint8(min(255, int(noisy.Pix[i])+browsertest.DiffLevel/2))
	}
	if _, err := browsertest.Compare(&noisy, base); err != nil {
		t.Errorf("faint noise: %v", err)
	}
	block := *base
	block.Pix = append([]uint8(nil), base.Pix...)
	for y := 10; y < 40; y++ {
		for x := 10; x < 40; x++ {
			block.SetGray(x, y, color.Gray{Y: 255 - base.GrayAt(x, y).Y})
		}
	}
	if _, err := browsertest.Compare(&block, base); err == nil {
		t.Error("a 30×30 block inverted passed")
	}
	if _, err := browsertest.Compare(image.NewGray(image.Rect(0, 0, 200, 120)), base); err == nil {
		t.Error("another size passed")
	}
}
