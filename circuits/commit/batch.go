package commit

import (
	"sync"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
)

// batchSize is how many compressions run side by side in the batched paths:
// a multiple of 16 (the width of gnark-crypto's AVX-512 vector multiply), and
// small enough that the broadcast round keys stay in L2.
const batchSize = 64

// batchCompressor is the optional fast path of a [Hash]: many independent
// compressions at once, one vector operation per step of the permutation
// instead of one field operation per step per input. gnark-crypto's fr.Vector
// multiplies with AVX-512 where the CPU has it (about 1.7× a scalar multiply
// on the development machine, 4.5× for additions) and falls back to the
// scalar code elsewhere. Results equal the scalar Compress (tested).
type batchCompressor interface {
	// compressBatch sets dst[i] = f(left[i], right[i]) for len(dst) ≤
	// batchSize; dst may alias left or right.
	compressBatch(dst, left, right []fr.Element, sc *scratch)
}

// batchLeafHasher is the optional fast path of a [Hash] whose leaf is not the
// chain of its compression (the [Poseidon2] sponge).
type batchLeafHasher interface {
	// leafBatch sets state[g] to the digest of leaf g, whose salt state[g]
	// holds on entry and whose m packed elements are elems[g·m : (g+1)·m],
	// for len(state) ≤ batchSize.
	leafBatch(state, elems []fr.Element, m int, sc *scratch)
}

// scratch is one goroutine's vectors for the batched permutations.
type scratch struct {
	s0, s1, s2, t fr.Vector
}

func newScratch() *scratch {
	v := func() fr.Vector { return make(fr.Vector, batchSize) }
	return &scratch{s0: v(), s1: v(), s2: v(), t: v()}
}

// batcher runs compressions through the batched path when the hash has one.
type batcher struct {
	h  Hash
	bc batchCompressor
	bl batchLeafHasher
	sc *scratch
}

func newBatcher(h Hash) *batcher {
	bt := &batcher{h: h, sc: newScratch()}
	bt.bc, _ = h.(batchCompressor)
	bt.bl, _ = h.(batchLeafHasher)
	return bt
}

// leaves sets state[g] to the digest of leaf g (salt in state[g] on entry,
// elements elems[g·m : (g+1)·m]) for len(state) ≤ batchSize: the hash's own
// batched leaf when it has one, else the chain of batched compressions, the
// leaves' chains advancing together.
func (b *batcher) leaves(state, elems []fr.Element, m int) {
	n := len(state)
	if b.bl != nil {
		b.bl.leafBatch(state, elems, m, b.sc)
		return
	}
	next := make([]fr.Element, n)
	for k := range m {
		for g := range n {
			next[g] = elems[g*m+k]
		}
		b.compress(state, state, next)
	}
}

// compress sets dst[i] = f(left[i], right[i]) for any length.
func (b *batcher) compress(dst, left, right []fr.Element) {
	if b.bc == nil {
		for i := range dst {
			dst[i] = b.h.Compress(&left[i], &right[i])
		}
		return
	}
	for lo := 0; lo < len(dst); lo += batchSize {
		hi := min(lo+batchSize, len(dst))
		b.bc.compressBatch(dst[lo:hi], left[lo:hi], right[lo:hi], b.sc)
	}
}

// broadcast returns each constant repeated batchSize times, so adding a round
// constant to a whole batch is one vector addition.
func broadcast(consts []fr.Element) []fr.Vector {
	out := make([]fr.Vector, len(consts))
	for i := range consts {
		out[i] = make(fr.Vector, batchSize)
		for j := range out[i] {
			out[i][j] = consts[i]
		}
	}
	return out
}

// pow5 sets x = x^5 elementwise using t as scratch.
func pow5(x, t fr.Vector) {
	t.Mul(x, x)
	t.Mul(t, t)
	x.Mul(x, t)
}

// poseidon2Keys are the round keys of [Poseidon2] broadcast: per round, one
// vector per lane that has a key (2 in full rounds, 1 in partial rounds).
var poseidon2Keys = sync.OnceValue(func() [][]fr.Vector {
	params := gcposeidon2Params()
	out := make([][]fr.Vector, len(params.RoundKeys))
	for i, rk := range params.RoundKeys {
		out[i] = broadcast(rk)
	}
	return out
})

// compressBatch is gnark-crypto's Permutation (t=2) written over vectors,
// step for step, then the feed-forward of the right input.
func (poseidon2Hash) compressBatch(dst, left, right []fr.Element, sc *scratch) {
	n := len(dst)
	s0, s1, t := sc.s0[:n], sc.s1[:n], sc.t[:n]
	copy(s0, left)
	copy(s1, right)
	keys := poseidon2Keys()
	external := func() { // circ(2, 1): s_i += s0 + s1
		t.Add(s0, s1)
		s0.Add(s0, t)
		s1.Add(s1, t)
	}
	full := func(round int) {
		s0.Add(s0, keys[round][0][:n])
		s1.Add(s1, keys[round][1][:n])
		pow5(s0, t)
		pow5(s1, t)
		external()
	}
	rf := poseidon2FullRounds / 2
	external()
	for r := 0; r < rf; r++ {
		full(r)
	}
	for r := rf; r < rf+poseidon2PartialRounds; r++ {
		s0.Add(s0, keys[r][0][:n])
		pow5(s0, t)
		// [[2, 1], [1, 3]]: s0 += s0 + s1, s1 = 2·s1 + s0 + s1
		t.Add(s0, s1)
		s0.Add(s0, t)
		s1.Add(s1, s1)
		s1.Add(s1, t)
	}
	for r := rf + poseidon2PartialRounds; r < poseidon2FullRounds+poseidon2PartialRounds; r++ {
		full(r)
	}
	out := fr.Vector(dst)
	out.Add(s1, right)
}

// mimcKeys are MiMC's round constants broadcast.
var mimcKeys = sync.OnceValue(func() []fr.Vector { return broadcast(mimcRoundConstants()) })

// compressBatch is the MiMC compression of hash_mimc.go over vectors:
// x ← (x + h + c_i)^5 each round, then E = x + h and f = E + h + m.
func (mimcHash) compressBatch(dst, left, right []fr.Element, sc *scratch) {
	n := len(dst)
	h, x, t := sc.s0[:n], sc.s1[:n], sc.t[:n]
	copy(h, left)
	copy(x, right)
	for _, c := range mimcKeys() {
		x.Add(x, h)
		x.Add(x, c[:n])
		pow5(x, t)
	}
	x.Add(x, h)
	x.Add(x, h)
	out := fr.Vector(dst)
	out.Add(x, right)
}

// spongeKeys are the round keys of the [Poseidon2] leaf sponge broadcast.
var spongeKeys = sync.OnceValue(func() [][]fr.Vector {
	params := spongeParams()
	out := make([][]fr.Vector, len(params.RoundKeys))
	for i, rk := range params.RoundKeys {
		out[i] = broadcast(rk)
	}
	return out
})

// leafBatch is the sponge of [Poseidon2.Leaf] for a batch of leaves, the
// permutation (gnark-crypto's, t=3) written over vectors step for step.
func (h poseidon2Sponge) leafBatch(state, elems []fr.Element, m int, sc *scratch) {
	n := len(state)
	if m == 1 { // f(salt, e_1)
		h.compressBatch(state, state, elems[:n], sc)
		return
	}
	s0, s1, s2, t := sc.s0[:n], sc.s1[:n], sc.s2[:n], sc.t[:n]
	var length fr.Element
	length.SetUint64(uint64(m))
	for g := range n {
		s0[g], s1[g], s2[g] = length, state[g], fr.Element{}
		if m > 0 {
			s2[g] = elems[g*m]
		}
	}
	permute3(s0, s1, s2, t)
	// Elements 2j-1 and 2j (1-based) after (salt, e_1): lanes 1 and 2.
	for k := 1; k < m; k += 2 {
		for g := range n {
			s1[g].Add(&s1[g], &elems[g*m+k])
			if k+1 < m {
				s2[g].Add(&s2[g], &elems[g*m+k+1])
			}
		}
		permute3(s0, s1, s2, t)
	}
	copy(state, s1)
}

// permute3 is gnark-crypto's Poseidon2 permutation at t=3 over vectors.
func permute3(s0, s1, s2, t fr.Vector) {
	n := len(s0)
	keys := spongeKeys()
	external := func() { // circ(2, 1, 1): s_i += s0 + s1 + s2
		t.Add(s0, s1)
		t.Add(t, s2)
		s0.Add(s0, t)
		s1.Add(s1, t)
		s2.Add(s2, t)
	}
	full := func(round int) {
		s0.Add(s0, keys[round][0][:n])
		s1.Add(s1, keys[round][1][:n])
		s2.Add(s2, keys[round][2][:n])
		pow5(s0, t)
		pow5(s1, t)
		pow5(s2, t)
		external()
	}
	rf := spongeFullRounds / 2
	external()
	for r := 0; r < rf; r++ {
		full(r)
	}
	for r := rf; r < rf+spongePartialRounds; r++ {
		s0.Add(s0, keys[r][0][:n])
		pow5(s0, t)
		// [[2,1,1],[1,2,1],[1,1,3]]: s_i += sum, and s2 once more.
		t.Add(s0, s1)
		t.Add(t, s2)
		s0.Add(s0, t)
		s1.Add(s1, t)
		s2.Add(s2, s2)
		s2.Add(s2, t)
	}
	for r := rf + spongePartialRounds; r < spongeFullRounds+spongePartialRounds; r++ {
		full(r)
	}
}
