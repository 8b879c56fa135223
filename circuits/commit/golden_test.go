package commit

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGoldenRoots pins the roots of a fixed tensor in every layout under every
// hash. Roots go on chain and into proofs: if a dependency upgrade (say,
// gnark-crypto's Poseidon2 round constants) or a change here moves them, this
// fails, and the change must be treated as a protocol upgrade.
func TestGoldenRoots(t *testing.T) {
	const rows, cols = 20, 40 // leaves of 3 (rows), 2 (columns) and 1 (row chunks) packed elements
	vals := make([]float32, rows*cols)
	for i := range vals {
		vals[i] = float32(i%97-48) / 4
	}
	seed := DeriveSeed([]byte("golden"), "commit/v1")
	want := map[string]string{
		"poseidon2/rows":             "0196f34284d9ca6e81492be00e04b6bffee39174413cb303bf3ed2182a4d555e",
		"poseidon2/columns":          "1d2f5a16414e910403202a7acc4369971097ff939ed753083568623c8e2a7a11",
		"poseidon2/row-chunks":       "30454ec54abab03c2156d4e2d381393a0eef1ebb81ff303f50724ce964714d67",
		"poseidon2-chain/rows":       "02671842fbcd63b6411ce1cfb5c9392e90f9cf94fbe2163aeac907ef6c66f81c",
		"poseidon2-chain/columns":    "2684de8653a5ceb1605a7f201e54089b2ebcac6dae8e5480cf07c81029fd59d1",
		"poseidon2-chain/row-chunks": "30454ec54abab03c2156d4e2d381393a0eef1ebb81ff303f50724ce964714d67",
		"mimc/rows":                  "0c6f945d2ec9209c543c6617d9389cf8126c3f76fd19acf08d45af343b3c14be",
		"mimc/columns":               "1281eba0429aed4b42aafba3fde301ee70333b6ce83830cb1054afa8eca4279d",
		"mimc/row-chunks":            "010c4295794726f809528dba5c304c7e2ff51ddf95b036cc7d570d168184ddad",
	}
	got := map[string]string{}
	for _, h := range Hashes() {
		s := Scheme{Params: DefaultParams(), Hash: h}
		for _, kind := range []Kind{Rows, Columns, RowChunks} {
			c, err := s.Commit(kind, rows, cols, vals, seed)
			require.NoError(t, err)
			root := c.RootBytes()
			got[h.Name()+"/"+kind.String()] = hex.EncodeToString(root[:])
		}
	}
	require.Equal(t, want, got, "roots moved: a protocol upgrade")
}
