package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.csv"), filepath.Join(dir, "b.csv")
	csv := "step,train_loss,val_loss,tokens_per_s,bytes_per_token,elapsed_s\n1,5,,100,9,0.5\n2,4,4.5,100,9,1.0\n3,3.5,4.0,100,9,1.5\n"
	for _, p := range []string{a, b} {
		if err := os.WriteFile(p, []byte(csv), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	xs, ys, err := readColumns(a, "elapsed_s", "val_loss")
	if err != nil || len(xs) != 2 || xs[0] != 1.0 || ys[1] != 4.0 {
		t.Fatalf("readColumns: %v %v %v", xs, ys, err)
	}
	out := filepath.Join(dir, "out.png")
	var stderr bytes.Buffer
	if err := run([]string{"-out", out, "-x", "elapsed_s", "k=4 A=" + a, "B=" + b}, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]string{{"A=" + a}, {"-out", out}, {"-out", out, "noequals"}, {"-out", out, "-y", "nope", "A=" + a}} {
		if err := run(bad, &stderr); err == nil {
			t.Errorf("run(%q) accepted", bad)
		}
	}
}
