package ceremony

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/protolearn/protolearn/circuits/commit"
	"github.com/protolearn/protolearn/circuits/tile"
)

// tiny is the smallest tile shape: 1,874 constraints, an FFT domain of 2048.
var tiny = tile.Shape{Kind: tile.Forward, Rows: 1, Inner: 4, Outer: 4, T: 4, TolULP: 1}

// TestCeremony runs a ceremony with three contributors in each phase, checks
// that the transcript verifies and that its keys prove and verify a real
// tile, then tampers with it.
func TestCeremony(t *testing.T) {
	if testing.Short() {
		t.Skip("real ceremony")
	}
	dir := t.TempDir()
	seal, fin := []byte("block 100 hash"), []byte("block 200 hash")
	lap := time.Now()
	step := func(what string) {
		t.Logf("%s: %v", what, time.Since(lap))
		lap = time.Now()
	}
	require.NoError(t, Init(dir, tiny))
	require.Error(t, Init(dir, tiny), "twice")
	step("init")
	for i := 1; i <= 3; i++ {
		phase, name, err := Contribute(dir)
		require.NoError(t, err)
		require.Equal(t, 1, phase)
		require.Equal(t, ContributionFile(1, i), name)
	}
	step("phase 1, 3 contributions")
	_, err := Finish(dir, fin)
	require.ErrorContains(t, err, "not sealed")
	require.NoError(t, SealPhase1(dir, seal))
	step("seal")
	_, err = ContributePhase1(dir)
	require.ErrorContains(t, err, "sealed")
	for i := 1; i <= 3; i++ {
		phase, name, err := Contribute(dir)
		require.NoError(t, err)
		require.Equal(t, 2, phase)
		require.Equal(t, ContributionFile(2, i), name)
	}
	step("phase 2, 3 contributions")
	keys, err := Finish(dir, fin)
	require.NoError(t, err)
	step("finish")
	_, _, err = Contribute(dir)
	require.ErrorContains(t, err, "finished")

	vkb, err := Verify(dir, seal, fin)
	require.NoError(t, err)
	step("verify")
	vk, err := keys.MarshalVerifyingKey()
	require.NoError(t, err)
	got, err := vkb.MarshalVerifyingKey()
	require.NoError(t, err)
	require.Equal(t, vk, got)

	// The files load with tile.LoadKeys and prove a real tile.
	pkFile, err := os.ReadFile(filepath.Join(dir, ProvingKeyFile))
	require.NoError(t, err)
	vkFile, err := os.ReadFile(filepath.Join(dir, VerifyingKeyFile))
	require.NoError(t, err)
	require.Len(t, vkFile, tile.VerifyingKeySize)
	loaded, err := tile.LoadKeys(tiny, pkFile, vkFile)
	require.NoError(t, err)
	o := openings(t, tiny)
	proof, err := tile.Prove(o, loaded)
	require.NoError(t, err)
	require.NoError(t, tile.Verify(vkFile, proof, o.Public()))
	bad := o.Public()
	bad.Row++
	require.Error(t, tile.Verify(vkFile, proof, bad))
	step("prove and verify a tile")

	// Wrong beacons.
	_, err = Verify(dir, seal, []byte("block 201 hash"))
	require.ErrorContains(t, err, ProvingKeyFile)
	_, err = Verify(dir, []byte("block 101 hash"), fin)
	require.ErrorContains(t, err, Phase1BeaconFile)

	// A tampered contribution is named, in either phase: a flipped byte
	// (malformed or wrong), or a well-formed contribution in the wrong place.
	tamper := func(name string, b []byte) {
		t.Helper()
		path := filepath.Join(dir, name)
		orig, err := os.ReadFile(path)
		require.NoError(t, err)
		if b == nil {
			b = append([]byte(nil), orig...)
			b[len(b)/2] ^= 1
		}
		require.NoError(t, os.WriteFile(path, b, 0o644))
		_, err = Verify(dir, seal, fin)
		require.ErrorContains(t, err, name)
		require.NoError(t, os.WriteFile(path, orig, 0o644))
	}
	tamper(ContributionFile(1, 2), nil)
	tamper(ContributionFile(2, 2), nil)
	first, err := os.ReadFile(filepath.Join(dir, ContributionFile(2, 1)))
	require.NoError(t, err)
	tamper(ContributionFile(2, 3), first)
	step("tampering")
}

// openings commits a random forward step of shape s (outputs rounded to
// nearest) and opens the last row and block.
func openings(t *testing.T, s tile.Shape) *tile.Openings {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	small := func(n int) []int64 {
		v := make([]int64, n)
		for i := range v {
			v[i] = rng.Int64N(129) - 64
		}
		return v
	}
	a, w := small(s.Rows*s.Inner), small(s.Inner*s.Outer)
	o := make([]int64, s.Rows*s.Outer)
	sc := tile.Scheme()
	f := sc.Params.FracBits
	for r := range s.Rows {
		for j := range s.Outer {
			var dot int64
			for k := range s.Inner {
				dot += a[r*s.Inner+k] * w[k*s.Outer+j]
			}
			o[r*s.Outer+j] = (dot + 1<<(f-1)) >> f
		}
	}
	in, err := sc.CommitQuantized(commit.Rows, s.Rows, s.Inner, a, commit.DeriveSeed([]byte("k"), "in"))
	require.NoError(t, err)
	wc, err := sc.CommitQuantized(commit.Columns, s.Inner, s.Outer, w, commit.DeriveSeed([]byte("k"), "w"))
	require.NoError(t, err)
	out, err := sc.CommitQuantized(commit.Rows, s.Rows, s.Outer, o, commit.DeriveSeed([]byte("k"), "out"))
	require.NoError(t, err)
	b := tile.Binding{Step: commit.HashToField("ceremony test step", nil), Challenge: commit.HashToField("ceremony test challenge", nil)}
	op, err := tile.Open(s, b, in, wc, out, s.Rows-1, s.Blocks()-1)
	require.NoError(t, err)
	return op
}
