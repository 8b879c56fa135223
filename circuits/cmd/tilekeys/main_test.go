package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/protolearn/protolearn/circuits/tile"
)

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-dir", "d"})
	require.NoError(t, err)
	require.Equal(t, tile.StandardShapes(), o.shapes)

	o, err = parseFlags([]string{"-dir", "d", "-force", "-shapes", "forward-4x8x8-T4-tol2, backward-256x256x256-T4-tol16"})
	require.NoError(t, err)
	require.True(t, o.force)
	require.Equal(t, []tile.Shape{
		{Kind: tile.Forward, Rows: 4, Inner: 8, Outer: 8, T: 4, TolULP: 2},
		{Kind: tile.Backward, Rows: 256, Inner: 256, Outer: 256, T: 4, TolULP: 16},
	}, o.shapes)

	for _, bad := range [][]string{
		{},                            // no -dir
		{"-dir", "d", "extra"},        // stray argument
		{"-dir", "d", "-shapes", "x"}, // not a shape name
		{"-dir", "d", "-shapes", "forward-4x8x8-T3-tol2"},
	} {
		_, err := parseFlags(bad)
		require.Error(t, err, "%q", bad)
	}
}
