// Package plot draws line charts as PNG images with nothing but the standard
// library: axes with round ticks, a light grid, a legend and a 3×5 pixel font.
// `trainer local` draws its loss.png with it, and the trainer benchmarks
// (scripts/bench-trainer.sh, trainer/cmd/lossplot) their comparison charts.
package plot

import (
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"strconv"
	"unicode"
)

// Default size of a chart, in pixels.
const (
	Width, Height = 800, 500
	fontScale     = 2 // each glyph pixel is fontScale×fontScale
)

var (
	colBG   = color.RGBA{255, 255, 255, 255}
	colAxis = color.RGBA{40, 40, 40, 255}
	colGrid = color.RGBA{225, 225, 225, 255}
)

// Palette is the colors series get when they name none, in order.
var Palette = []color.RGBA{
	{31, 119, 180, 255},  // blue
	{214, 39, 40, 255},   // red
	{44, 160, 44, 255},   // green
	{255, 127, 14, 255},  // orange
	{148, 103, 189, 255}, // purple
	{140, 86, 75, 255},   // brown
	{227, 119, 194, 255}, // pink
	{127, 127, 127, 255}, // grey
}

// Series is one line: the points (X[i], Y[i]); points with a NaN or infinite
// coordinate are skipped (the line joins its neighbours).
type Series struct {
	Name  string
	Color color.RGBA // zero: Palette[i % len(Palette)]
	X, Y  []float64
}

// Chart is a line chart. Labels use lowercase letters, digits and a little
// punctuation ( . - / ( ) = : , % + _ ); uppercase is drawn as lowercase, other
// characters as blanks.
type Chart struct {
	XLabel, YLabel string
	Series         []Series
	// Width and Height in pixels; zero means Width, Height.
	Width, Height int
}

// glyphs is a 3×5 pixel font for the labels: rows top to bottom, 3 bits each.
var glyphs = map[rune][5]uint8{
	'0': {7, 5, 5, 5, 7}, '1': {2, 6, 2, 2, 7}, '2': {7, 1, 7, 4, 7}, '3': {7, 1, 7, 1, 7},
	'4': {5, 5, 7, 1, 1}, '5': {7, 4, 7, 1, 7}, '6': {7, 4, 7, 5, 7}, '7': {7, 1, 1, 1, 1},
	'8': {7, 5, 7, 5, 7}, '9': {7, 5, 7, 1, 7}, '.': {0, 0, 0, 0, 2}, '-': {0, 0, 7, 0, 0},
	'a': {0, 6, 3, 5, 7}, 'e': {0, 7, 7, 4, 7}, 'i': {2, 0, 2, 2, 2}, 'l': {6, 2, 2, 2, 7},
	'n': {0, 6, 5, 5, 5}, 'o': {0, 7, 5, 5, 7}, 'p': {0, 7, 5, 7, 4}, 'r': {0, 7, 4, 4, 4},
	's': {0, 7, 6, 1, 7}, 't': {2, 7, 2, 2, 3}, 'v': {0, 5, 5, 5, 2}, 'k': {4, 5, 6, 5, 5},
	'b': {4, 4, 7, 5, 7}, 'c': {0, 7, 4, 4, 7}, 'd': {1, 1, 7, 5, 7}, 'f': {3, 4, 7, 4, 4},
	'g': {7, 4, 5, 5, 7}, 'h': {4, 4, 7, 5, 5}, 'j': {1, 0, 1, 5, 7}, 'm': {0, 7, 7, 5, 5},
	'q': {0, 7, 5, 7, 1}, 'u': {0, 5, 5, 5, 7}, 'w': {0, 5, 5, 7, 7}, 'x': {0, 5, 2, 2, 5},
	'y': {0, 5, 7, 1, 6}, 'z': {0, 7, 1, 4, 7},
	'/': {1, 1, 2, 4, 4}, '(': {1, 2, 2, 2, 1}, ')': {4, 2, 2, 2, 4}, '=': {0, 7, 0, 7, 0},
	':': {0, 2, 0, 2, 0}, ',': {0, 0, 0, 2, 4}, '%': {5, 1, 2, 4, 5}, '+': {0, 2, 7, 2, 0},
	'_': {0, 0, 0, 0, 7},
	' ': {},
}

// drawText writes s with its top-left corner at (x, y).
func drawText(img *image.RGBA, x, y int, s string, c color.Color) {
	for _, r := range s {
		g := glyphs[unicode.ToLower(r)]
		for row := range 5 {
			for col := range 3 {
				if g[row]&(4>>col) != 0 {
					draw.Draw(img, image.Rect(x+col*fontScale, y+row*fontScale, x+(col+1)*fontScale, y+(row+1)*fontScale),
						image.NewUniform(c), image.Point{}, draw.Src)
				}
			}
		}
		x += 4 * fontScale
	}
}

func textWidth(s string) int { return len([]rune(s)) * 4 * fontScale }

// line draws a 2-pixel wide segment.
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	n := max(abs(x1-x0), abs(y1-y0), 1)
	for i := 0; i <= n; i++ {
		x := x0 + (x1-x0)*i/n
		y := y0 + (y1-y0)*i/n
		for _, d := range [][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
			img.SetRGBA(x+d[0], y+d[1], c)
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// niceTicks returns about n round values covering [lo, hi].
func niceTicks(lo, hi float64, n int) []float64 {
	if hi <= lo {
		hi = lo + 1
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var ticks []float64
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9; v += step {
		ticks = append(ticks, v)
	}
	return ticks
}

func formatTick(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e7 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	// Ticks are sums of a round step: drop the float noise (3.7000000000000006).
	return strconv.FormatFloat(math.Round(v*1e9)/1e9, 'f', -1, 64)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// Encode draws the chart as a PNG into out. The y axis starts at zero at the
// lowest (y values are losses, never negative), with a 5% margin.
func (c Chart) Encode(out io.Writer) error {
	w, h := c.Width, c.Height
	if w == 0 {
		w = Width
	}
	if h == 0 {
		h = Height
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(colBG), image.Point{}, draw.Src)
	left, right, top, bottom := 80, w-20, 20, h-50

	x0, x1 := math.Inf(1), math.Inf(-1)
	y0, y1 := math.Inf(1), math.Inf(-1)
	for _, s := range c.Series {
		for i := range min(len(s.X), len(s.Y)) {
			if finite(s.X[i]) {
				x0, x1 = min(x0, s.X[i]), max(x1, s.X[i])
			}
			if finite(s.Y[i]) {
				y0, y1 = min(y0, s.Y[i]), max(y1, s.Y[i])
			}
		}
	}
	if math.IsInf(x0, 0) {
		x0, x1 = 0, 1
	}
	if math.IsInf(y0, 0) {
		y0, y1 = 0, 1
	}
	if x1 <= x0 {
		x1 = x0 + 1
	}
	pad := (y1 - y0) * 0.05
	if pad == 0 {
		pad = 0.5
	}
	y0, y1 = math.Max(0, y0-pad), y1+pad
	px := func(x float64) int { return left + int(math.Round((x-x0)/(x1-x0)*float64(right-left))) }
	py := func(y float64) int { return bottom - int(math.Round((y-y0)/(y1-y0)*float64(bottom-top))) }

	for _, t := range niceTicks(x0, x1, 8) {
		x := px(t)
		draw.Draw(img, image.Rect(x, top, x+1, bottom), image.NewUniform(colGrid), image.Point{}, draw.Src)
		draw.Draw(img, image.Rect(x, bottom, x+1, bottom+6), image.NewUniform(colAxis), image.Point{}, draw.Src)
		s := formatTick(t)
		drawText(img, x-textWidth(s)/2, bottom+10, s, colAxis)
	}
	for _, t := range niceTicks(y0, y1, 6) {
		y := py(t)
		draw.Draw(img, image.Rect(left, y, right, y+1), image.NewUniform(colGrid), image.Point{}, draw.Src)
		draw.Draw(img, image.Rect(left-6, y, left, y+1), image.NewUniform(colAxis), image.Point{}, draw.Src)
		s := formatTick(t)
		drawText(img, left-10-textWidth(s), y-5, s, colAxis)
	}
	draw.Draw(img, image.Rect(left, top, left+2, bottom+1), image.NewUniform(colAxis), image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(left, bottom, right, bottom+2), image.NewUniform(colAxis), image.Point{}, draw.Src)
	drawText(img, (left+right)/2-textWidth(c.XLabel)/2, h-18, c.XLabel, colAxis)
	drawText(img, 8, top, c.YLabel, colAxis)

	colors := make([]color.RGBA, len(c.Series))
	for i, s := range c.Series {
		colors[i] = s.Color
		if s.Color == (color.RGBA{}) {
			colors[i] = Palette[i%len(Palette)]
		}
		havePrev := false
		var ppx, ppy int
		for j := range min(len(s.X), len(s.Y)) {
			if !finite(s.X[j]) || !finite(s.Y[j]) {
				continue
			}
			x, y := px(s.X[j]), py(s.Y[j])
			if havePrev {
				line(img, ppx, ppy, x, y, colors[i])
			} else {
				line(img, x, y, x, y, colors[i])
			}
			ppx, ppy, havePrev = x, y, true
		}
	}

	// Legend, top right: wide enough for the longest name.
	if len(c.Series) > 0 {
		width := 130
		for _, s := range c.Series {
			width = max(width, 40+textWidth(s.Name)+20)
		}
		lx, ly := right-width, top+10
		draw.Draw(img, image.Rect(lx-10, ly-8, right-8, ly+20*len(c.Series)+2), image.NewUniform(colBG), image.Point{}, draw.Src)
		for i, s := range c.Series {
			y := ly + i*20
			line(img, lx, y+4, lx+30, y+4, colors[i])
			drawText(img, lx+40, y, s.Name, colAxis)
		}
	}
	return png.Encode(out, img)
}
