package commit

import (
	"fmt"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	gcposeidon2 "github.com/consensys/gnark-crypto/ecc/bn254/fr/poseidon2"
	"github.com/consensys/gnark/frontend"
	stdhash "github.com/consensys/gnark/std/hash"
	"github.com/consensys/gnark/std/permutation/poseidon2"
)

// Poseidon2 parameters: width 2 (a 2-to-1 compression), 6 full and 50 partial
// rounds, gnark-crypto's default for BN254 (128-bit security with x^5).
const (
	poseidon2Width         = 2
	poseidon2FullRounds    = 6
	poseidon2PartialRounds = 50
)

// Poseidon2 is Poseidon2-BN254 (t=2, rF=6, rP=50) in gnark's compression mode
// f(l, r) = P(l, r)[1] + r, the compressor of gnark-crypto's
// poseidon2.NewMerkleDamgardHasher. In circuit it is built from
// std/permutation/poseidon2 because std/hash/poseidon2 refuses BN254 in v0.14.
var Poseidon2 Hash = poseidon2Hash{}

type poseidon2Hash struct{}

var poseidon2Perm = sync.OnceValue(func() *gcposeidon2.Permutation {
	return gcposeidon2.NewPermutation(poseidon2Width, poseidon2FullRounds, poseidon2PartialRounds)
})

// gcposeidon2Params are the same parameters, for their round keys.
var gcposeidon2Params = sync.OnceValue(func() *gcposeidon2.Parameters {
	return gcposeidon2.NewParameters(poseidon2Width, poseidon2FullRounds, poseidon2PartialRounds)
})

func (poseidon2Hash) Name() string { return "poseidon2" }

func (poseidon2Hash) Compress(left, right *fr.Element) fr.Element {
	x := [poseidon2Width]fr.Element{*left, *right}
	// Only fails on a buffer of the wrong width, which x is not.
	if err := poseidon2Perm().Permutation(x[:]); err != nil {
		panic(fmt.Sprintf("poseidon2: %v", err))
	}
	x[1].Add(&x[1], right)
	return x[1]
}

func (poseidon2Hash) Gadget(api frontend.API) (HashGadget, error) {
	perm, err := poseidon2.NewPoseidon2FromParameters(api, poseidon2Width, poseidon2FullRounds, poseidon2PartialRounds)
	if err != nil {
		return nil, fmt.Errorf("poseidon2 gadget: %w", err)
	}
	return &poseidon2Gadget{api: api, perm: perm}, nil
}

type poseidon2Gadget struct {
	api  frontend.API
	perm *poseidon2.Permutation
}

func (g *poseidon2Gadget) Chain(iv frontend.Variable, in ...frontend.Variable) frontend.Variable {
	md := stdhash.NewMerkleDamgardHasher(g.api, g.perm, iv)
	md.Write(in...)
	return md.Sum()
}

func (g *poseidon2Gadget) Compress(left, right frontend.Variable) frontend.Variable {
	return g.perm.Compress(left, right)
}
