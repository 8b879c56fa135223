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

// Poseidon2 parameters.
//
// The compression (tree nodes, and every call of [Poseidon2Chain]) is width 2
// with 6 full and 50 partial rounds: gnark-crypto's default for BN254, so the
// nodes are the compressor of its poseidon2.NewMerkleDamgardHasher.
//
// The leaf sponge of [Poseidon2] is width 3 with 8 full and 56 partial rounds:
// the instance of the Poseidon2 paper (eprint 2023/323, Table 1, x^5 over a
// 254-bit field, 128-bit security including its security margin) and of the
// authors' reference code for BN254 at t=3. gnark-crypto has no default for
// t=3, so the margin is the paper's rather than gnark's leaner t=2 choice.
const (
	poseidon2Width         = 2
	poseidon2FullRounds    = 6
	poseidon2PartialRounds = 50

	spongeWidth         = 3
	spongeFullRounds    = 8
	spongePartialRounds = 56
)

// Poseidon2 is the default hash. Nodes are Poseidon2-BN254 (t=2, rF=6, rP=50)
// in gnark's compression mode f(l, r) = P(l, r)[1] + r. A leaf is a sponge
// over Poseidon2-BN254 (t=3, rF=8, rP=56) with rate 2 and capacity 1:
//
//	state = (m, 0, 0)                  capacity = the number of packed elements
//	absorb (salt, e_1), (e_2, e_3), …  added to lanes 1 and 2, then one permutation
//	digest = lane 1 of the final state
//
// Two elements a permutation cost 240 constraints in circuit, 120 an element,
// against 186 for the chain of f, which is most of a spot-check circuit. A
// leaf of a single element (a Y chunk of 4 values) is f(salt, e_1) instead,
// one t=2 call (186 constraints against 240, and faster natively). The
// capacity starts from a public constant, never from the salt: a state the
// prover chooses whole could be reached by running the public permutation
// backwards, which would open any digest to other values.
var Poseidon2 Hash = poseidon2Sponge{}

// Poseidon2Chain is [Poseidon2] with leaves hashed as the Merkle–Damgård chain
// of its compression from the salt, the construction of the gnark trial;
// kept for comparison (circuits/README.md, "Choosing the hash").
var Poseidon2Chain Hash = poseidon2Hash{}

type poseidon2Hash struct{}

// poseidon2Sponge is poseidon2Hash with the sponge for leaves.
type poseidon2Sponge struct{ poseidon2Hash }

var poseidon2Perm = sync.OnceValue(func() *gcposeidon2.Permutation {
	return gcposeidon2.NewPermutation(poseidon2Width, poseidon2FullRounds, poseidon2PartialRounds)
})

// gcposeidon2Params are the same parameters, for their round keys.
var gcposeidon2Params = sync.OnceValue(func() *gcposeidon2.Parameters {
	return gcposeidon2.NewParameters(poseidon2Width, poseidon2FullRounds, poseidon2PartialRounds)
})

var spongePerm = sync.OnceValue(func() *gcposeidon2.Permutation {
	return gcposeidon2.NewPermutation(spongeWidth, spongeFullRounds, spongePartialRounds)
})

var spongeParams = sync.OnceValue(func() *gcposeidon2.Parameters {
	return gcposeidon2.NewParameters(spongeWidth, spongeFullRounds, spongePartialRounds)
})

func (poseidon2Hash) Name() string   { return "poseidon2-chain" }
func (poseidon2Sponge) Name() string { return "poseidon2" }

func (poseidon2Hash) Compress(left, right *fr.Element) fr.Element {
	x := [poseidon2Width]fr.Element{*left, *right}
	// Only fails on a buffer of the wrong width, which x is not.
	if err := poseidon2Perm().Permutation(x[:]); err != nil {
		panic(fmt.Sprintf("poseidon2: %v", err))
	}
	x[1].Add(&x[1], right)
	return x[1]
}

// Leaf is the chain from the salt.
func (h poseidon2Hash) Leaf(salt fr.Element, in []fr.Element) fr.Element {
	return Chain(h, salt, in...)
}

// Leaf is the sponge (see [Poseidon2]), or f(salt, e_1) for one element.
func (h poseidon2Sponge) Leaf(salt fr.Element, in []fr.Element) fr.Element {
	if len(in) == 1 {
		return h.Compress(&salt, &in[0])
	}
	var s [spongeWidth]fr.Element
	s[0].SetUint64(uint64(len(in)))
	at := func(i int) *fr.Element { // the absorbed sequence (salt, e_1, …, e_m)
		if i == 0 {
			return &salt
		}
		return &in[i-1]
	}
	for i := 0; i <= len(in); i += 2 {
		s[1].Add(&s[1], at(i))
		if i+1 <= len(in) {
			s[2].Add(&s[2], at(i+1))
		}
		if err := spongePerm().Permutation(s[:]); err != nil {
			panic(fmt.Sprintf("poseidon2 sponge: %v", err))
		}
	}
	return s[1]
}

func (poseidon2Hash) Gadget(api frontend.API) (HashGadget, error) {
	perm, err := poseidon2.NewPoseidon2FromParameters(api, poseidon2Width, poseidon2FullRounds, poseidon2PartialRounds)
	if err != nil {
		return nil, fmt.Errorf("poseidon2 gadget: %w", err)
	}
	return &poseidon2Gadget{api: api, perm: perm}, nil
}

func (h poseidon2Sponge) Gadget(api frontend.API) (HashGadget, error) {
	g, err := h.poseidon2Hash.Gadget(api)
	if err != nil {
		return nil, err
	}
	pg := g.(*poseidon2Gadget)
	if pg.sponge, err = poseidon2.NewPoseidon2FromParameters(api, spongeWidth, spongeFullRounds, spongePartialRounds); err != nil {
		return nil, fmt.Errorf("poseidon2 sponge gadget: %w", err)
	}
	return pg, nil
}

type poseidon2Gadget struct {
	api    frontend.API
	perm   *poseidon2.Permutation
	sponge *poseidon2.Permutation // nil for Poseidon2Chain
}

func (g *poseidon2Gadget) Chain(iv frontend.Variable, in ...frontend.Variable) frontend.Variable {
	md := stdhash.NewMerkleDamgardHasher(g.api, g.perm, iv)
	md.Write(in...)
	return md.Sum()
}

func (g *poseidon2Gadget) Compress(left, right frontend.Variable) frontend.Variable {
	return g.perm.Compress(left, right)
}

func (g *poseidon2Gadget) Leaf(salt frontend.Variable, in ...frontend.Variable) frontend.Variable {
	if g.sponge == nil || len(in) == 1 {
		return g.Chain(salt, in...)
	}
	seq := append([]frontend.Variable{salt}, in...)
	s := []frontend.Variable{len(in), 0, 0}
	for i := 0; i < len(seq); i += 2 {
		s[1] = g.api.Add(s[1], seq[i])
		if i+1 < len(seq) {
			s[2] = g.api.Add(s[2], seq[i+1])
		}
		// Only fails on a state of the wrong width, which s is not.
		if err := g.sponge.Permutation(s); err != nil {
			panic(fmt.Sprintf("poseidon2 sponge gadget: %v", err))
		}
	}
	return s[1]
}
