package app_test

import (
	"testing"

	sdkmath "cosmossdk.io/math"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/app"
	"github.com/protolearn/protolearn/app/chainmetrics"
	sharestypes "github.com/protolearn/protolearn/x/shares/types"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// The node's protolearn metrics count what the chain did, from finalized blocks: an honest
// worker's spot-checked attestation answered and finalized into shares, a cheater's failed and
// slashed, revenue paid and claimed; a refused transaction and a query count nothing.
func TestChainMetricsCountFinalizedBlocks(t *testing.T) {
	vc, ws := startVerifyChain(t, sdkmath.LegacyOneDec())
	reg := prometheus.NewRegistry()
	m, err := chainmetrics.New(reg)
	require.NoError(t, err)
	vc.app.SetMetrics(m)
	value := func(name string, labels ...string) float64 {
		t.Helper()
		mfs, err := reg.Gather()
		require.NoError(t, err)
		total := 0.0
		for _, mf := range mfs {
			if mf.GetName() != "protolearn_"+name {
				continue
			}
		metric:
			for _, mt := range mf.GetMetric() {
				have := map[string]string{}
				for _, l := range mt.GetLabel() {
					have[l.GetName()] = l.GetValue()
				}
				for i := 0; i+1 < len(labels); i += 2 {
					if have[labels[i]] != labels[i+1] {
						continue metric
					}
				}
				total += mt.GetCounter().GetValue()
			}
		}
		return total
	}

	honest, cheater := ws[1], ws[3]
	hID := vc.submit(t, honest, 2)
	vc.submit(t, cheater, 2)
	vc.blocks(1)
	require.Equal(t, 2.0, value("attestations_submitted_total", "model", "1"))
	require.Equal(t, 4.0, value("challenges_opened_total", "model", "1"), "a product and an input tile each")
	for _, ch := range vc.challenges(t, honest, verifytypes.CHALLENGE_STATUS_OPEN) {
		proof, err := vc.prove(t, honest, ch)
		require.NoError(t, err)
		require.Zero(t, vc.respond(honest, ch.Id, proof).Code)
	}
	require.Equal(t, 2.0, value("challenges_answered_total", "model", "1"))
	// A refused transaction counts nothing: the same answer again.
	vc.blocks(vResponse + 1)
	failed := vc.challenges(t, cheater, verifytypes.CHALLENGE_STATUS_FAILED)
	require.Len(t, failed, 1)
	require.Equal(t, 1.0, value("challenges_failed_total", "model", "1"))
	slashed, _ := failed[0].Slashed.Amount.ToLegacyDec().Float64()
	require.Positive(t, slashed)
	require.Equal(t, slashed, value("slashed_total", "model", "1", "cause", "challenge"))
	require.GreaterOrEqual(t, value("attestations_voided_total", "model", "1"), 1.0)

	vc.blocks(3)
	require.Equal(t, verifytypes.ATTESTATION_STATUS_FINALIZED, vc.attestationByID(t, hID).Status)
	require.Equal(t, 1.0, value("attestations_finalized_total", "model", "1"))
	require.Equal(t, float64(2*vLayers), value("work_units_finalized_total", "model", "1"))
	minted := float64(vc.shareSupply())
	require.Positive(t, minted)
	require.Equal(t, minted, value("shares_minted_total", "model", "1"), "the operator's and the designer's parts")

	res := vc.send(vc.designer, &sharestypes.MsgPayRevenue{Payer: vc.designer.addr.String(), ModelId: 1, Amount: sdk.NewInt64Coin(app.BondDenom, 1_000_000)})
	require.Zero(t, res.Code, res.Log)
	require.Equal(t, 1_000_000.0, value("revenue_paid_total", "model", "1"))
	res = vc.send(honest.account, &sharestypes.MsgClaimRevenue{Holder: honest.addr.String()})
	require.Zero(t, res.Code, res.Log)
	require.Positive(t, value("revenue_claimed_total", "model", "1"))
	// A refused payment (more than the payer has) counts nothing.
	res = vc.send(honest.account, &sharestypes.MsgPayRevenue{Payer: honest.addr.String(), ModelId: 1, Amount: sdk.NewInt64Coin(app.BondDenom, 1<<62)})
	require.NotZero(t, res.Code)
	require.Equal(t, 1_000_000.0, value("revenue_paid_total", "model", "1"))
	require.Positive(t, value("blocks_observed_total"))
}
