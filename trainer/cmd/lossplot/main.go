// Command lossplot draws columns of several `trainer local` loss.csv files as
// one PNG line chart (trainer/plot), one series per file:
//
//	lossplot -out cmp.png -x elapsed_s -y val_loss "gpipe=run1/loss.csv" "async=run2/loss.csv"
//
// A series' name ends at the last "=" of its argument, so it may hold "="
// (k=4) but the path may not. Rows whose x or y cell is empty (val_loss between evaluations) are
// skipped. scripts/bench-trainer.sh draws docs/bench-trainer-*.png with it.
package main

import (
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/protolearn/protolearn/trainer/plot"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "lossplot:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("lossplot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "PNG file to write (required)")
	x := fs.String("x", "step", "column of the x axis")
	y := fs.String("y", "val_loss", "column of the y axis")
	xlabel := fs.String("xlabel", "", "x axis label (default: the -x column)")
	ylabel := fs.String("ylabel", "", "y axis label (default: the -y column)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: lossplot -out FILE.png [-x COLUMN] [-y COLUMN] NAME=loss.csv ...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() == 0 {
		fs.Usage()
		return errors.New("need -out and at least one NAME=loss.csv")
	}
	c := plot.Chart{XLabel: *xlabel, YLabel: *ylabel}
	if c.XLabel == "" {
		c.XLabel = strings.ReplaceAll(*x, "_", " ")
	}
	if c.YLabel == "" {
		c.YLabel = strings.ReplaceAll(*y, "_", " ")
	}
	for _, a := range fs.Args() {
		i := strings.LastIndex(a, "=") // the name may hold "=", the path not
		if i <= 0 || i == len(a)-1 {
			return fmt.Errorf("%q: want NAME=loss.csv", a)
		}
		name, path := a[:i], a[i+1:]
		xs, ys, err := readColumns(path, *x, *y)
		if err != nil {
			return err
		}
		c.Series = append(c.Series, plot.Series{Name: name, X: xs, Y: ys})
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	if err := c.Encode(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", *out, err)
	}
	return f.Close()
}

// readColumns returns the (x, y) pairs of a CSV file's two named columns,
// skipping rows where either cell is empty.
func readColumns(path, x, y string) (xs, ys []float64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) == 0 {
		return nil, nil, fmt.Errorf("%s: empty", path)
	}
	xi, yi := slices.Index(recs[0], x), slices.Index(recs[0], y)
	if xi < 0 || yi < 0 {
		return nil, nil, fmt.Errorf("%s: no column %q or %q (header %s)", path, x, y, strings.Join(recs[0], ","))
	}
	for i, rec := range recs[1:] {
		if rec[xi] == "" || rec[yi] == "" {
			continue
		}
		xv, err1 := strconv.ParseFloat(rec[xi], 64)
		yv, err2 := strconv.ParseFloat(rec[yi], 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, nil, fmt.Errorf("%s: line %d: %w", path, i+2, err)
		}
		if math.IsNaN(xv) || math.IsNaN(yv) {
			continue
		}
		xs, ys = append(xs, xv), append(ys, yv)
	}
	return xs, ys, nil
}
