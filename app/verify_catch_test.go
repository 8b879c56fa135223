package app_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	sdkmath "cosmossdk.io/math"
	"github.com/stretchr/testify/require"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/app"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// The attestations a cheater caught by an audit is paid before the catch, measured on the
// chain: it attests every b blocks; a referee disputes attestation c (the first one drawn)
// when the audit can: in the block after c's successor is on chain, or, where the successor
// is late, once half c's challenge window has passed (referee Config.OwnRange); the cheater
// does not answer and loses. Those that finalized before the dispute opened are paid, the rest
// voided with it: max(0, c − k) with k = ⌊(window − d) / b⌋ + 1, d = min(b + 1, window / 2) the
// blocks from c to the dispute (x/verify README, "Cheats the spot checks do not see"). Over the draws of R − 1 referees each
// auditing at rate r, as the referee service draws (rand.Float64() < rate), the mean paid is
// then (1 − p)^k / p with p = 1 − (1 − r)^(R−1).
func TestAuditCatchPaysWhatTheoryPredicts(t *testing.T) {
	const window = 8
	// d is how many blocks after attestation c the dispute opens: the block after its
	// successor, or half its window where that comes first (the successor is late).
	d := func(b int) int { return min(b+1, window/2) }
	late := func(b int) bool { return d(b) < b+1 }
	k := func(b int) int { return (window-d(b))/b + 1 }
	paidOnChain := func(t *testing.T, b, c int) int {
		vc, ws := startVerifyChainWith(t, sdkmath.LegacyZeroDec(), window, vResponse, func(mg *modelstypes.GenesisState, vg *verifytypes.GenesisState) {
			vg.Params.DisputeBond = sdk.NewInt64Coin(app.BondDenom, 7_000_000)
		})
		w, r := ws[1], ws[3]
		var ids []uint64
		var caught int64 // the height c was submitted at
		for j := 1; j <= c+1; j++ {
			if j == c+1 && late(b) {
				break // the referee does not wait for the successor
			}
			if j > 1 {
				vc.blocks(b - 1) // submitting is a block
			}
			ids = append(ids, vc.submit(t, w, 1))
			if j == c {
				caught = vc.height()
			}
		}
		vc.blocks(int(caught) + d(b) - 1 - int(vc.height())) // the dispute's tx lands at caught + d
		res := vc.send(r.account, &verifytypes.MsgOpenDispute{Referee: r.addr.String(), AttestationId: ids[c-1], Bond: sdk.NewInt64Coin(app.BondDenom, 7_000_000)})
		require.Zero(t, res.Code, res.Log)
		vc.blocks(vResponse + window + 2) // the cheater is silent: slashed, and everything pending voided
		var paid int
		for j, id := range ids {
			switch a := vc.attestationByID(t, id); a.Status {
			case verifytypes.ATTESTATION_STATUS_FINALIZED:
				require.Less(t, j+1, c, "the disputed attestation and those after it are never paid")
				paid++
			case verifytypes.ATTESTATION_STATUS_VOID:
			default:
				t.Fatalf("attestation %d is %s after the verdict", id, a.Status)
			}
		}
		return paid
	}
	for _, tc := range []struct{ b, c int }{{1, 9}, {2, 3}, {2, 6}, {3, 4}, {4, 1}, {4, 5}, {9, 4}} {
		t.Run(fmt.Sprintf("b %d, caught at %d", tc.b, tc.c), func(t *testing.T) {
			got := paidOnChain(t, tc.b, tc.c)
			require.Equal(t, max(0, tc.c-k(tc.b)), got, "k = %d", k(tc.b))
			t.Logf("one attestation every %d blocks, window %d, caught at attestation %d: %d paid (k = %d)", tc.b, window, tc.c, got, k(tc.b))
		})
	}

	// The draws: the first attestation any of R − 1 referees draws, by the service's rule.
	for _, dc := range []struct {
		r    float64
		R, b int
	}{{0.1, 3, 1}, {0.1, 3, 2}, {0.1, 3, 4}, {0.5, 2, 2}} {
		rngs := make([]*rand.Rand, dc.R-1)
		for i := range rngs {
			rngs[i] = rand.New(rand.NewPCG(uint64(i+1), 7))
		}
		const trials = 20000
		var total, sq float64
		for range trials {
			c := 1
			for ; ; c++ {
				drawn := false
				for _, g := range rngs {
					drawn = g.Float64() < dc.r || drawn // every referee draws each attestation
				}
				if drawn {
					break
				}
			}
			paid := float64(max(0, c-k(dc.b)))
			total += paid
			sq += paid * paid
		}
		p := 1 - math.Pow(1-dc.r, float64(dc.R-1))
		theory := math.Pow(1-p, float64(k(dc.b))) / p
		mean := total / trials
		sd := math.Sqrt(sq/trials - mean*mean)
		require.InDelta(t, theory, mean, 4*sd/math.Sqrt(trials)+1e-9, "r %v, R %d, b %d", dc.r, dc.R, dc.b)
		t.Logf("r %.1f, %d replicas, one attestation every %d blocks (window %d, k = %d): %.2f attestations paid before the catch, theory %.2f",
			dc.r, dc.R, dc.b, window, k(dc.b), mean, theory)
	}
}
