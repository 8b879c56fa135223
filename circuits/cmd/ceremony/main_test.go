package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/protolearn/protolearn/circuits/tile"
)

func TestParseShape(t *testing.T) {
	for _, s := range append(tile.StandardShapes(), tile.Shape{Kind: tile.Forward, Rows: 1, Inner: 4, Outer: 4, T: 4, TolULP: 1}) {
		got, err := parseShape(s.String())
		require.NoError(t, err)
		require.Equal(t, s, got)
	}
	for _, bad := range []string{"", "forward", "sideways-1x4x4-T4-tol1", "forward-1x4x4-T4-tol1x", "forward-1x4x4-T3-tol1", "forward-01x4x4-T4-tol1"} {
		_, err := parseShape(bad)
		require.Error(t, err, bad)
	}
	_, err := beacon("beacon", "0xzz")
	require.Error(t, err)
	b, err := beacon("beacon", "0x00ff")
	require.NoError(t, err)
	require.Equal(t, []byte{0, 0xff}, b)
}
