package app_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/app"
	"github.com/protolearn/protolearn/circuits/tile"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// BenchmarkRespondChallenge answers a spot check on the in-process chain and reports the gas the
// response tx used (proof_verify_gas included) and its block's execution time, then times the
// verification the keeper runs, with the parsed key it caches and from the key's bytes.
func BenchmarkRespondChallenge(b *testing.B) {
	t := &testing.T{}
	vc, ws := startVerifyChain(t, sdkmath.LegacyOneDec())
	w := ws[0]
	vc.submit(t, w, 1)
	vc.blocks(1)
	open := vc.challenges(t, w, verifytypes.CHALLENGE_STATUS_OPEN)
	if len(open) != 2 {
		b.Fatalf("%d open challenges, want a spot check's product and input tiles", len(open))
	}
	ch := open[0]
	proof, err := vc.prove(t, w, ch)
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	res := vc.respond(w, ch.Id, proof)
	block := time.Since(t0)
	if res.Code != 0 {
		b.Fatal(res.Log)
	}
	p, err := vc.app.VerifyKeeper.GetParams(vc.app.NewContext(true))
	if err != nil {
		b.Fatal(err)
	}
	raw, _ := p.Key(ch.Shape)
	vk, err := tile.ParseVerifyingKey(raw)
	if err != nil {
		b.Fatal(err)
	}
	a, err := vc.app.VerifyKeeper.GetAttestation(vc.app.NewContext(true), ch.AttestationId)
	if err != nil {
		b.Fatal(err)
	}
	pub, err := challengePublic(vc, a, ch)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("parsed-key", func(b *testing.B) {
		for range b.N {
			if err := vk.Verify(proof, pub); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("key-bytes", func(b *testing.B) {
		for range b.N {
			if err := tile.Verify(raw, proof, pub); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(res.GasUsed), "tx_gas")
	b.ReportMetric(float64(p.ProofVerifyGas), "proof_verify_gas")
	b.ReportMetric(float64(block.Microseconds())/1000, "block_ms")
	b.Logf("%s challenge on %s: tx gas %d (proof_verify_gas %d), its block took %s", ch.Kind, ch.Shape, res.GasUsed, p.ProofVerifyGas, block)
}

// challengePublic is the public inputs the chain rebuilds for ch of a: an input challenge's from
// the model and the opening prove kept.
func challengePublic(vc *verifyChain, a verifytypes.Attestation, ch verifytypes.Challenge) (tile.PublicInputs, error) {
	if ch.Kind != verifytypes.CHALLENGE_KIND_INPUT {
		return verifytypes.ChallengePublic(app.DefaultChainID, a, ch)
	}
	m, err := vc.app.ModelsKeeper.GetModel(vc.app.NewContext(true), a.ModelId)
	if err != nil {
		return tile.PublicInputs{}, err
	}
	o, _ := vc.openings.Load(ch.Id)
	op, _ := o.(openings)
	return verifytypes.InputPublic(app.DefaultChainID, a, ch, verifytypes.ModelTiles(a, m), m, op.in, op.ds)
}

// BenchmarkEndBlockPending measures the block in which 1,000 pending attestations of 8 steps
// (the default attestation_period) are all due: each drawn for a spot check at the default rate
// 0.1 (about 100 challenges opened) and each finalized (shares minted to its worker and the
// designer, the model's work credited, its commitments and 48 roots dropped from the index).
// The attestations are put in genesis, of 20 workers on stage 1, so that the measured block
// holds nothing else; the per-attestation time is the block's over 1,000.
func BenchmarkEndBlockPending(b *testing.B) {
	const pending, workers, due = 1000, 20, 40
	t := &testing.T{}
	for range b.N {
		b.StopTimer()
		rng := rand.New(rand.NewPCG(3, 4))
		root := func() []byte {
			r := make([]byte, 32)
			for i := range r {
				r[i] = byte(rng.Uint32())
			}
			r[0] &= 0x1f // below the BN254 modulus
			return r
		}
		addrs := make([]string, workers)
		for i := range addrs {
			addrs[i] = sdk.AccAddress(root()[:20]).String()
		}
		add := func(_ *modelstypes.GenesisState, vg *verifytypes.GenesisState) {
			period := verifytypes.DefaultParams().AttestationPeriod
			for i := range pending {
				w := i % workers
				from := uint64(i/workers)*period + 1
				a := verifytypes.Attestation{
					Id: uint64(i + 1), Worker: addrs[w], ModelId: 1, Stage: 1, StepFrom: from, StepTo: from + period - 1,
					WorkUnits: period * vLayers, TileRows: vRows, TileWidth: vT, Status: verifytypes.ATTESTATION_STATUS_PENDING,
					SubmittedHeight: 1, DrawHeight: due, FinalizeHeight: due, ChainId: app.DefaultChainID,
				}
				for s := from; s <= a.StepTo; s++ {
					a.Commitments = append(a.Commitments, verifytypes.StepCommitment{
						Step: s, XRoot: root(), WColsRoot: root(), YRoot: root(), DyRoot: root(), WRowsRoot: root(), DxRoot: root(),
					})
				}
				vg.Attestations = append(vg.Attestations, a)
			}
			vg.NextAttestationId = pending + 1
		}
		vc, ws := startVerifyChainWith(t, verifytypes.DefaultParams().ChallengeRate, vWindow, vResponse, add)
		// The gas of submitting one attestation of 8 steps: stage 0 (samples) and stage 1 (receipts).
		var gas [2]int64
		for i, w := range ws[:2] {
			res := vc.send(w.account, vc.attestation(t, w, verifytypes.DefaultParams().AttestationPeriod))
			if res.Code != 0 {
				b.Fatal(res.Log)
			}
			gas[i] = res.GasUsed
		}
		for vc.app.LastBlockHeight() < due-1 {
			vc.block(time.Second)
		}
		b.StartTimer()
		t0 := time.Now()
		vc.block(time.Second)
		d := time.Since(t0)
		b.StopTimer()
		final, err := vc.app.VerifyKeeper.Attestations.Get(vc.app.NewContext(true), pending)
		if err != nil || final.Status != verifytypes.ATTESTATION_STATUS_FINALIZED {
			b.Fatalf("attestation %d after its block: %v, %v", pending, final.Status, err)
		}
		open := 0
		for _, w := range addrs {
			var res verifytypes.QueryChallengesResponse
			if err := vc.query("/protolearn.verify.v1.Query/Challenges", &verifytypes.QueryChallengesRequest{Worker: w}, &res); err != nil {
				b.Fatal(err)
			}
			open += len(res.Challenges)
		}
		b.ReportMetric(float64(d.Microseconds())/1000, "block_ms")
		b.ReportMetric(float64(d.Microseconds())/pending, "us_per_attestation")
		b.ReportMetric(float64(open), "challenges")
		b.ReportMetric(float64(gas[0]), "submit_gas_stage0")
		b.ReportMetric(float64(gas[1]), "submit_gas_stage1")
		b.Logf("%d attestations due in one block (%d spot checks opened): the block took %s; submitting 8 steps costs %d gas on stage 0, %d on stage 1", pending, open, d, gas[0], gas[1])
	}
}

// BenchmarkSubmitGas is the gas of submitting an attestation of 8 steps on stage 0 (gradient
// receipts from stage 1, draws, embedding roots) and stage 1 (activation receipts), with 1 and
// 4 microbatches a step (a receipt each).
func BenchmarkSubmitGas(b *testing.B) {
	for _, per := range []uint32{1, 4} {
		b.Run(fmt.Sprintf("microbatches=%d", per), func(b *testing.B) {
			t := &testing.T{}
			for range b.N {
				vc, ws := startVerifyChainWith(t, sdkmath.LegacyZeroDec(), vWindow, vResponse, microbatches(per))
				for i, w := range ws[:2] {
					res := vc.send(w.account, vc.attestation(t, w, verifytypes.DefaultParams().AttestationPeriod))
					if res.Code != 0 {
						b.Fatal(res.Log)
					}
					b.ReportMetric(float64(res.GasUsed), fmt.Sprintf("gas_stage%d", i))
				}
			}
		})
	}
}
