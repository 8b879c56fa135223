package main

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/protolearn/protolearn/circuits/tile"
)

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-inner", "1024", "-t", "16"})
	require.NoError(t, err)
	require.Equal(t, tile.Shape{Kind: tile.Forward, Rows: 256, Inner: 1024, Outer: 1024, T: 16, TolULP: 64}, o.shape)
	require.Equal(t, 3, o.proveRuns)

	o, err = parseFlags([]string{"-kind", "backward", "-rows", "4", "-inner", "8", "-outer", "16", "-tol", "2", "-keys", "k", "-prove-runs", "1"})
	require.NoError(t, err)
	require.Equal(t, tile.Shape{Kind: tile.Backward, Rows: 4, Inner: 8, Outer: 16, T: 4, TolULP: 2}, o.shape)
	require.Equal(t, "k", o.keys)

	o, err = parseFlags([]string{"-kind", "tie", "-inner", "12", "-outer", "24"})
	require.NoError(t, err)
	require.Equal(t, tile.Shape{Kind: tile.Tie, Rows: 12, Inner: 12, Outer: 24, T: 4}, o.shape)

	for bad, msg := range map[string][]string{
		"must be a power of two": {"-inner", "256", "-t", "3"},
		"divide 8":               {"-inner", "8", "-t", "16"},
		"want forward":           {"-inner", "256", "-kind", "sideways"},
		"tolerance":              {"-inner", "8", "-kind", "tie", "-tol", "2"},
		"-inner is required":     {"-t", "4"},
		"dimensions":             {"-inner", "256", "-rows", "0"},
		"must be at least 1":     {"-inner", "256", "-verify-runs", "0"},
		"unexpected arguments":   {"-inner", "256", "extra"},
	} {
		_, err := parseFlags(msg)
		require.ErrorContains(t, err, bad, "%q", msg)
	}
}

func TestName(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(slog.New(slog.DiscardHandler), &out, []string{"-inner", "256", "-name"}))
	require.Equal(t, "forward-256x256x256-T4-tol16\n", out.String())
}

func TestQuantile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	require.Equal(t, 5.0, quantile(xs, 0.5))
	require.Equal(t, 9.0, quantile(xs, 0.9))
	require.Equal(t, 2.0, quantile([]float64{3, 2, 1}, 0.5))
	require.Equal(t, 7.0, quantile([]float64{7}, 0.9))
}
