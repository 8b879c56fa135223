package local

import (
	"io"

	"github.com/protolearn/protolearn/trainer/plot"
)

// plotLoss draws the train and validation losses against the step as a
// w×h PNG: axes with ticks, a grid and a legend.
func plotLoss(out io.Writer, rows []Row, w, h int) error {
	steps := make([]float64, len(rows))
	train := make([]float64, len(rows))
	val := make([]float64, len(rows))
	for i, r := range rows {
		steps[i], train[i], val[i] = float64(r.Step), r.Train, r.Val
	}
	return plot.Chart{
		XLabel: "step", YLabel: "loss", Width: w, Height: h,
		Series: []plot.Series{
			{Name: "train", Color: plot.Palette[0], X: steps, Y: train},
			{Name: "val", Color: plot.Palette[1], X: steps, Y: val},
		},
	}.Encode(out)
}
