package commit

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGoldenRoots pins the roots of a fixed tensor in every layout under both
// hashes. Roots go on chain and into proofs: if a dependency upgrade (say,
// gnark-crypto's Poseidon2 round constants) or a change here moves them, this
// fails, and the change must be treated as a protocol upgrade.
func TestGoldenRoots(t *testing.T) {
	const rows, cols = 3, 8
	vals := make([]float32, rows*cols)
	for i := range vals {
		vals[i] = float32(i-11) / 4
	}
	seed := DeriveSeed([]byte("golden"), "commit/v1")
	want := map[string]string{
		"poseidon2/rows":       "28d9e50e20387cdc208629190799a6cde44fd8eee1af37da8ba40e647ec7ee95",
		"poseidon2/columns":    "15288b6ae11dbf249c333b78108bc3e45cc07215938d08bb4faf612c6e5c0f9b",
		"poseidon2/row-chunks": "08029a2bdd58adf6aa4cb7a2e105f2d3a3f9b5e5f118efc26de3e3ea43f51df7",
		"mimc/rows":            "058d3ccfd7e886c47a3f4815567a5bd6f1dd2b5dc8e69ce8d02304a041a6e17b",
		"mimc/columns":         "26f7fc65131780416a1c8f6c9a29e72c6236a4da752cd65ad05c1b875331abc3",
		"mimc/row-chunks":      "01482058dd5e7342161c4c760607081f1039007085fe8a099cc3822cc6a6440a",
	}
	for _, h := range Hashes() {
		s := Scheme{Params: DefaultParams(), Hash: h}
		for _, kind := range []Kind{Rows, Columns, RowChunks} {
			c, err := s.Commit(kind, rows, cols, vals, seed)
			require.NoError(t, err)
			root := c.RootBytes()
			name := h.Name() + "/" + kind.String()
			require.Equal(t, want[name], hex.EncodeToString(root[:]), name)
		}
	}
}
