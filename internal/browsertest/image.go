package browsertest

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// The screenshot comparison. Both images are reduced to grey and halved
// (each pixel the mean of a 2×2 block), which keeps the golden file small
// and forgives sub-pixel differences of anti-aliasing; then a pixel differs
// when its grey level is off by more than DiffLevel, and the images match
// when at most maxDiffShare of the pixels differ and their sizes are within
// maxSizeShare of each other.
const (
	DiffLevel    = 48
	maxDiffShare = 0.02
	maxSizeShare = 0.03
)

// Shrink returns img in grey at half size.
func Shrink(img image.Image) *image.Gray {
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

// Compare says how got differs from want (both already shrunk): an error
// when they do not match, and the share of differing pixels.
func Compare(got, want *image.Gray) (float64, error) {
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
			if abs(int(a)-int(b)) > DiffLevel {
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

// GoldenImage compares a PNG screenshot with the golden file path (or
// rewrites it, shrunk, when update is set). On a mismatch it keeps the
// shrunk screenshot in the temporary directory and names it, to look at.
func GoldenImage(t *testing.T, path string, shot []byte, update bool) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	got := Shrink(img)
	if update {
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
		t.Fatalf("%v (run the test with -update to create it)", err)
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
	share, err := Compare(got, want)
	t.Logf("screenshot vs %s: %.3f%% of the pixels differ", path, 100*share)
	if err != nil {
		keep := filepath.Join(os.TempDir(), "tcpflow-check-"+filepath.Base(path))
		var buf bytes.Buffer
		if png.Encode(&buf, got) == nil && os.WriteFile(keep, buf.Bytes(), 0o644) == nil {
			t.Errorf("screenshot differs from %s: %v; the screenshot is %s", path, err, keep)
		} else {
			t.Errorf("screenshot differs from %s: %v", path, err)
		}
	}
}
