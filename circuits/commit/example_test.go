package commit_test

import (
	"fmt"

	"github.com/protolearn/protolearn/circuits/commit"
)

// A trainer commits a weight matrix by columns, puts the 32-byte root on chain, and later opens
// the column block a challenge names; the verifier checks the opening against the root.
func Example() {
	const k, n, t = 8, 16, 4
	w := make([]float32, k*n) // row-major K×N
	for i := range w {
		w[i] = float32(i%7) / 8
	}
	s := commit.DefaultScheme() // B=16, F=8, Poseidon2
	seed := commit.DeriveSeed([]byte("trainer secret"), "model/1/stage/2/step/700/W")
	c, err := s.Commit(commit.Columns, k, n, w, seed)
	if err != nil {
		panic(err)
	}
	root := c.RootBytes() // goes on chain
	fmt.Println("root bytes:", len(root))

	col := 2 // the challenge's column block: columns [8, 12)
	op, err := c.OpenColumnBlock(col, t)
	if err != nil {
		panic(err)
	}
	block, err := c.Layout().ColumnBlock(col, t)
	if err != nil {
		panic(err)
	}
	fmt.Println("opening verifies:", s.Verify(c.Layout(), c.Root(), block, op) == nil)
	op.Values[0][3]++ // a value changed after committing
	fmt.Println("changed opening verifies:", s.Verify(c.Layout(), c.Root(), block, op) == nil)
	// Output:
	// root bytes: 32
	// opening verifies: true
	// changed opening verifies: false
}
