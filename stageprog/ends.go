package stageprog

import "math"

// The ends of a disputed update touch real training: the worker's state after the update was
// computed by its engine (float32 on a GPU), the reference in float64. They are compared chunk
// by chunk (the values of one statecommit chunk), by norms: the difference between the worker's
// values and the reference's against the size of the update the reference made to them.

// EndTolerance bounds, for honest float32 training, ‖worker − reference‖ / (‖reference − old‖ +
// 2⁻²⁰·‖reference‖) over any chunk of the state (trainer/dispute TestEnds measures it).
const EndTolerance = 0.05

// EndRatio is ‖claimed − ref‖ / (‖ref − old‖ + 2⁻²⁰·‖ref‖) over one chunk: claimed the worker's
// values after the update, ref the reference's, old the values before it (nil for a value with
// no "before", such as the gradient sent back, which is then compared to its own size). The
// 2⁻²⁰ term is float32's rounding of the values themselves, for values the update barely moves.
func EndRatio(claimed, ref, old []float64) float64 {
	var diff, upd, size float64
	for i := range ref {
		d := claimed[i] - ref[i]
		diff += mul(d, d)
		size += mul(ref[i], ref[i])
		if old != nil {
			u := ref[i] - old[i]
			upd += mul(u, u)
		}
	}
	den := float64(math.Sqrt(size) * (1.0 / (1 << 20))) // rounded alone: no fused multiply-add
	if old != nil {
		den += math.Sqrt(upd)
	} else {
		den = math.Sqrt(size)
	}
	if den == 0 {
		if diff == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return math.Sqrt(diff) / den
}
