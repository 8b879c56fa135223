package commit

import (
	"fmt"
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	gcmimc "github.com/consensys/gnark-crypto/ecc/bn254/fr/mimc"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/hash/mimc"
)

// MiMC is gnark's MiMC-BN254 (x^5, 110 rounds) in Miyaguchi–Preneel mode:
// f(h, m) = E_h(m) + h + m, the compression behind gnark-crypto's
// ecc/bn254/fr/mimc and gnark's std/hash/mimc.
var MiMC Hash = mimcHash{}

type mimcHash struct{}

// mimcRoundConstants are gnark-crypto's constants in Montgomery form, loaded
// once: the native compression below runs the rounds directly on fr.Element
// instead of going through the byte-oriented hash.Hash interface.
var mimcRoundConstants = sync.OnceValue(func() []fr.Element {
	big := gcmimc.GetConstants()
	out := make([]fr.Element, len(big))
	for i := range big {
		out[i].SetBigInt(&big[i])
	}
	return out
})

func (mimcHash) Name() string { return "mimc" }

func (mimcHash) Compress(h, m *fr.Element) fr.Element {
	// E_h(m): m ← (m + h + c_i)^5 for every round, then + h.
	x := *m
	var t fr.Element
	for _, c := range mimcRoundConstants() {
		t.Add(&x, h).Add(&t, &c)
		x.Square(&t).Square(&x).Mul(&x, &t)
	}
	x.Add(&x, h)
	// Miyaguchi–Preneel feed-forward.
	x.Add(&x, h).Add(&x, m)
	return x
}

// Leaf is the chain from the salt.
func (h mimcHash) Leaf(salt fr.Element, in []fr.Element) fr.Element { return Chain(h, salt, in...) }

func (mimcHash) Gadget(api frontend.API) (HashGadget, error) {
	m, err := mimc.NewMiMC(api)
	if err != nil {
		return nil, fmt.Errorf("mimc gadget: %w", err)
	}
	return &mimcGadget{m: m}, nil
}

type mimcGadget struct{ m mimc.MiMC }

func (g *mimcGadget) Chain(iv frontend.Variable, in ...frontend.Variable) frontend.Variable {
	g.m.Reset()
	// SetState only fails on a hasher holding unhashed data, never after Reset.
	if err := g.m.SetState([]frontend.Variable{iv}); err != nil {
		panic(fmt.Sprintf("mimc gadget: %v", err))
	}
	g.m.Write(in...)
	return g.m.Sum()
}

func (g *mimcGadget) Compress(left, right frontend.Variable) frontend.Variable {
	return g.Chain(left, right)
}

func (g *mimcGadget) Leaf(salt frontend.Variable, in ...frontend.Variable) frontend.Variable {
	return g.Chain(salt, in...)
}
