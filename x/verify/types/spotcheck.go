package types

import (
	"crypto/sha256"
	"encoding/binary"
	"math/big"

	sdkmath "cosmossdk.io/math"
)

// SpotCheck is the chain's draw for one attestation: whether to challenge it and where.
type SpotCheck struct {
	Challenge bool
	// Kind, Step, Row and Col are the product tile checked: forward, backward or tie.
	Kind     ChallengeKind
	Step     uint64
	Row, Col uint32
	// Input is the input tile checked beside it on a compressed model (nil elsewhere): the
	// input tile is small beside the product tiles, and only it catches a worker whose products
	// are consistent but whose input is its own.
	Input *SpotTile
}

// SpotTile is one more tile a spot check opens.
type SpotTile struct {
	Step     uint64
	Row, Col uint32
}

// spotCheckDomain separates this use of block hashes from any other.
const spotCheckDomain = "protolearn/verify/spot-check/v1"

// drbg expands a seed into independent 32-byte blocks: SHA-256(seed ‖ counter).
type drbg struct {
	seed [32]byte
	n    uint64
}

func (d *drbg) next() [32]byte {
	var buf [40]byte
	copy(buf[:32], d.seed[:])
	binary.BigEndian.PutUint64(buf[32:], d.n)
	d.n++
	return sha256.Sum256(buf[:])
}

// uniform returns a value in [0, n); n ≤ 2^32 here, so the modulo bias of 64 random bits is
// below 2^-32.
func (d *drbg) uniform(n uint64) uint64 {
	b := d.next()
	return binary.BigEndian.Uint64(b[:8]) % n
}

// DrawSpotCheck decides, from a block hash and the attestation id, whether the chain challenges
// attestation a (probability rate) and where: a product tile (forward, backward or tie, equally
// likely) at a step, row and column block, and on a compressed model an input tile too. The draw is a
// pure function of its arguments, so every validator computes the same one.
//
// The hash is that of the block after the one that included the attestation, so the
// attestation's content was fixed before it. That block's proposer can still bias the draw: by
// trying G candidate blocks (tx order, timestamp) and keeping one that spares a colluding worker,
// it lowers the check probability from r to r^G, on the blocks it proposes only. What bounds this:
// (1) the colluding proposer must propose exactly the block after the attestation, which the
// worker can aim for only by timing its submission, and honest proposers draw fairly; (2) anyone
// may open a challenge at any (kind, step, row, block) during challenge_window, so a suppressed
// spot check does not make work unchallengeable, and the neighbouring stages, who see the
// worker's outputs, are natural challengers; (3) a worker caught once loses slash_fraction of its
// stake and every pending attestation of the model, so cheating must escape every check.
func DrawSpotCheck(blockHash []byte, a Attestation, t Tiles, rate sdkmath.LegacyDec) SpotCheck {
	var seedIn []byte
	seedIn = append(seedIn, spotCheckDomain...)
	seedIn = append(seedIn, blockHash...)
	seedIn = binary.BigEndian.AppendUint64(seedIn, a.Id)
	d := drbg{seed: sha256.Sum256(seedIn)}

	// 128 random bits reduced mod 10^18 compare with rate's 18-decimal integer: bias < 2^-68.
	first := d.next()
	u := new(big.Int).SetBytes(first[:16])
	u.Mod(u, sdkmath.LegacyOneDec().BigInt())
	if rate.IsNil() || u.Cmp(rate.BigInt()) >= 0 {
		return SpotCheck{}
	}
	products := ChallengeKinds[:3]
	kind := products[d.uniform(uint64(len(products)))]
	sc := SpotCheck{Challenge: true, Kind: kind, Step: a.StepFrom + d.uniform(a.Steps())}
	sc.Row, sc.Col = d.tile(t, kind)
	if t.HasInput() {
		in := &SpotTile{Step: a.StepFrom + d.uniform(a.Steps())}
		in.Row, in.Col = d.tile(t, CHALLENGE_KIND_INPUT)
		sc.Input = in
	}
	return sc
}

// tile draws a row and a column block of the tile of kind. Shapes were checked when the
// attestation was accepted; an impossible shape has no tile to open, so the row and block stay 0
// and the check still runs (and fails safe: the worker cannot prove it).
func (d *drbg) tile(t Tiles, kind ChallengeKind) (row, col uint32) {
	s, err := t.Shape(kind)
	if err != nil {
		return 0, 0
	}
	return uint32(d.uniform(uint64(s.Rows))), uint32(d.uniform(uint64(s.Blocks())))
}
