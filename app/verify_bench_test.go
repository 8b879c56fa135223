package app_test

import (
	"testing"
	"time"

	sdkmath "cosmossdk.io/math"

	"github.com/protolearn/protolearn/app"
	"github.com/protolearn/protolearn/circuits/tile"
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
	if len(open) != 1 {
		b.Fatalf("%d open challenges", len(open))
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
	pub, err := verifytypes.ChallengePublic(app.DefaultChainID, a, ch)
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
