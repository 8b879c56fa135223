package tile_test

import (
	"fmt"

	"github.com/protolearn/protolearn/circuits/commit"
	"github.com/protolearn/protolearn/circuits/tile"
)

// A worker proves one challenged tile of Y = X·W without revealing W: it commits X (rows), W
// (columns) and Y (rows) bound to its step, opens the tile the challenge names, and proves it;
// the chain verifies the proof against the roots it stored and the binding it computes.
func Example() {
	s := tile.Shape{Kind: tile.Forward, Rows: 4, Inner: 8, Outer: 8, T: 4, TolULP: tile.DefaultTolULP(8)}
	x, w := make([]int64, 4*8), make([]int64, 8*8)
	for i := range x {
		x[i] = int64(i%5) - 2
	}
	for i := range w {
		w[i] = int64(i%3) << 6
	}
	y := make([]int64, 4*8) // Y = X·W / 2^F, exact here
	for r := range 4 {
		for j := range 8 {
			for k := range 8 {
				y[r*8+j] += x[r*8+k] * w[k*8+j]
			}
			y[r*8+j] >>= 8
		}
	}
	sc := tile.Scheme()
	secret := []byte("trainer secret")
	xc, _ := sc.CommitQuantized(commit.Rows, 4, 8, x, commit.DeriveSeed(secret, "X"))
	wc, _ := sc.CommitQuantized(commit.Columns, 8, 8, w, commit.DeriveSeed(secret, "W"))
	yc, _ := sc.CommitQuantized(commit.Rows, 4, 8, y, commit.DeriveSeed(secret, "Y"))

	// In x/verify the step tag names (chain, model, stage, worker, step) and the challenge tag
	// the challenge; both sides compute them.
	b := tile.Binding{Step: commit.HashToField("example step", nil), Challenge: commit.HashToField("example challenge", nil)}
	o, err := tile.Open(s, b, xc, wc, yc, 2, 1) // row 2, column block 1
	if err != nil {
		panic(err)
	}
	keys, err := tile.TestSetup(s) // tests only: production keys come from the ceremony
	if err != nil {
		panic(err)
	}
	proof, err := tile.Prove(o, keys)
	if err != nil {
		panic(err)
	}
	vk, _ := keys.MarshalVerifyingKey()
	fmt.Println("proof bytes:", len(proof))
	fmt.Println("verifies:", tile.Verify(vk, proof, o.Public()) == nil)
	other := o.Public()
	other.Binding = tile.Binding{Step: b.Step, Challenge: commit.HashToField("another challenge", nil)}.Public()
	fmt.Println("verifies for another challenge:", tile.Verify(vk, proof, other) == nil)
	// Output:
	// proof bytes: 196
	// verifies: true
	// verifies for another challenge: false
}
