package plot

import (
	"bytes"
	"image/png"
	"math"
	"testing"
)

func TestEncode(t *testing.T) {
	for _, c := range []Chart{
		{},
		{XLabel: "elapsed s", YLabel: "val loss", Width: 300, Height: 200, Series: []Series{
			{Name: "gpipe, 4 stages", X: []float64{0, 1, 2}, Y: []float64{3, math.NaN(), 2}},
			{Name: "Async (1F1B)", X: []float64{0, 1.5}, Y: []float64{3.2, 1.9}},
		}},
		{Series: []Series{{Name: "one point", X: []float64{5}, Y: []float64{5}}}},
	} {
		var b bytes.Buffer
		if err := c.Encode(&b); err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(&b)
		if err != nil {
			t.Fatal(err)
		}
		w, h := c.Width, c.Height
		if w == 0 {
			w, h = Width, Height
		}
		if got := img.Bounds(); got.Dx() != w || got.Dy() != h {
			t.Errorf("%v, want %dx%d", got, w, h)
		}
	}
}

func TestNiceTicks(t *testing.T) {
	got := niceTicks(0, 10, 5)
	if len(got) != 6 || got[0] != 0 || got[5] != 10 {
		t.Errorf("niceTicks(0, 10, 5) = %v", got)
	}
	if got := formatTick(3.5 + 0.1 + 0.1); got != "3.7" {
		t.Errorf("formatTick(3.7 + noise) = %q", got)
	}
	for _, r := range "abcdefghijklmnopqrstuvwxyz0123456789" {
		if _, ok := glyphs[r]; !ok {
			t.Errorf("no glyph for %q", r)
		}
	}
}
