package commit

import (
	"fmt"
	"math/big"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/std/rangecheck"
)

// OpeningVars is an [Opening] as circuit variables, to embed in a circuit
// struct (all private: the opened values are the secret). Values are the
// signed values themselves, so the circuit computes with them directly once
// [Scheme.AssertOpening] has range-checked them.
type OpeningVars struct {
	Values [][]frontend.Variable
	Salts  []frontend.Variable
	Path   []frontend.Variable
}

// NewOpeningVars allocates the shape of an opening of a block of the given
// number of leaves, for a circuit definition: sizes are fixed at compile time.
func (l Layout) NewOpeningVars(leaves int) OpeningVars {
	v := OpeningVars{
		Values: make([][]frontend.Variable, leaves),
		Salts:  make([]frontend.Variable, leaves),
		Path:   make([]frontend.Variable, l.PathLen(Block{Leaves: leaves})),
	}
	for i := range v.Values {
		v.Values[i] = make([]frontend.Variable, l.LeafLen)
	}
	return v
}

// Assignment turns a native opening into a witness assignment.
func (op *Opening) Assignment() OpeningVars {
	v := OpeningVars{
		Values: make([][]frontend.Variable, len(op.Values)),
		Salts:  make([]frontend.Variable, len(op.Salts)),
		Path:   make([]frontend.Variable, len(op.Path)),
	}
	for i, vals := range op.Values {
		v.Values[i] = make([]frontend.Variable, len(vals))
		for k, x := range vals {
			var e fr.Element // negative values become r - |x|, as in the circuit
			e.SetInt64(x)
			v.Values[i][k] = e
		}
	}
	for i := range op.Salts {
		v.Salts[i] = op.Salts[i]
	}
	for i := range op.Path {
		v.Path[i] = op.Path[i]
	}
	return v
}

// AssertOpening constrains op to open the block with the given index (among
// blocks of len(op.Values) leaves) of a tree committed to root:
//
//   - every value is range-checked to B bits after biasing, which makes the
//     packing injective (see circuits/README.md) — without it a prover could
//     open v_0+2^B, v_1-1 in place of v_0, v_1;
//   - each leaf is H_salt(packed elements…) ([Scheme.LeafHash]), the leaves
//     fold into their subtree root, and the path climbs to root with the
//     direction bits of index (api.ToBinary, which also forces
//     index < 2^len(Path)).
//
// root and index are normally public inputs; index is computed by the circuit
// from the challenge (for a row block of Y, r·BlocksPerRow(t) + c).
func (s Scheme) AssertOpening(api frontend.API, root, index frontend.Variable, op OpeningVars) error {
	node, err := s.openingRoot(api, index, op)
	if err != nil {
		return err
	}
	api.AssertIsEqual(node, root)
	return nil
}

// openingRoot checks op's values and folds its leaves and path into the root
// they reach at index.
func (s Scheme) openingRoot(api frontend.API, index frontend.Variable, op OpeningVars) (frontend.Variable, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	n := len(op.Values)
	if !isPow2(n) || len(op.Salts) != n {
		return nil, fmt.Errorf("commit: opening with %d leaves and %d salts", n, len(op.Salts))
	}
	h, err := s.Hash.Gadget(api)
	if err != nil {
		return nil, err
	}
	rc := rangecheck.New(api)
	nodes := make([]frontend.Variable, n)
	for i, vals := range op.Values {
		if len(vals) != len(op.Values[0]) {
			return nil, fmt.Errorf("commit: leaf %d has %d values, leaf 0 has %d", i, len(vals), len(op.Values[0]))
		}
		nodes[i] = h.Leaf(op.Salts[i], s.recompose(api, rc, vals)...)
	}
	for len(nodes) > 1 {
		for i := range len(nodes) / 2 {
			nodes[i] = h.Compress(nodes[2*i], nodes[2*i+1])
		}
		nodes = nodes[:len(nodes)/2]
	}
	node := nodes[0]
	if len(op.Path) > 0 {
		bits := api.ToBinary(index, len(op.Path))
		for k, sib := range op.Path {
			// One constraint a level: d = bit·(sib − node) swaps the pair when
			// the node is a right child.
			d := api.Mul(bits[k], api.Sub(sib, node))
			node = h.Compress(api.Add(node, d), api.Sub(sib, d))
		}
	} else {
		api.AssertIsEqual(index, 0)
	}
	return node, nil
}

// recompose range-checks each value and packs them as the native side does:
// e_k = Σ_j (v_{kP+j} + 2^(B-1))·2^(B·j). The sum is linear, so it costs no
// constraint; the range checks are the whole price of packing.
func (s Scheme) recompose(api frontend.API, rc frontend.Rangechecker, vals []frontend.Variable) []frontend.Variable {
	p := s.Params
	per := p.PerElement()
	bias := big.NewInt(p.bias())
	out := make([]frontend.Variable, 0, p.PackedLen(len(vals)))
	for base := 0; base < len(vals); base += per {
		var acc frontend.Variable = 0
		for j := 0; j < per && base+j < len(vals); j++ {
			u := api.Add(vals[base+j], bias)
			rc.Check(u, p.ValueBits)
			shift := new(big.Int).Lsh(big.NewInt(1), uint(p.ValueBits*j))
			acc = api.Add(acc, api.Mul(u, shift))
		}
		out = append(out, acc)
	}
	return out
}

// RowBlockIndex is the in-circuit block index of the t-wide row block (r, c)
// of a [RowChunks] matrix, r·BlocksPerRow(t) + c: linear, so free. The circuit
// should get r and c in range from public inputs the chain computed; a c past
// the row would only name another row's block, which the proof then covers.
func (l Layout) RowBlockIndex(api frontend.API, r, c frontend.Variable, t int) frontend.Variable {
	return api.Add(api.Mul(r, l.BlocksPerRow(t)), c)
}
