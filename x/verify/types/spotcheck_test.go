package types

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"
)

func testAttestation(id uint64) Attestation {
	return Attestation{Id: id, StepFrom: 100, StepTo: 107, TileRows: 4, TileWidth: 4}
}

func blockHash(i uint64) []byte {
	b := make([]byte, 32)
	binary.BigEndian.PutUint64(b, i*0x9e3779b97f4a7c15)
	return b
}

// The draw is a pure function of the hash and the attestation, lands inside the attestation and
// the tile, and changes with either input.
func TestDrawSpotCheckIsDeterministicAndInRange(t *testing.T) {
	rate := sdkmath.LegacyOneDec()
	seen := map[SpotCheck]bool{}
	for i := range uint64(200) {
		a := testAttestation(i + 1)
		sc := DrawSpotCheck(blockHash(i), a, testTiles(a), rate)
		require.Equal(t, sc, DrawSpotCheck(blockHash(i), a, testTiles(a), rate))
		require.True(t, sc.Challenge)
		require.GreaterOrEqual(t, sc.Step, a.StepFrom)
		require.LessOrEqual(t, sc.Step, a.StepTo)
		s, err := testTiles(a).Shape(sc.Kind)
		require.NoError(t, err)
		require.NoError(t, s.CheckChallenge(uint64(sc.Row), uint64(sc.Col)))
		seen[sc] = true
	}
	require.Greater(t, len(seen), 150, "draws vary with the hash and the id")
	require.False(t, DrawSpotCheck(blockHash(1), testAttestation(1), testTiles(testAttestation(1)), sdkmath.LegacyZeroDec()).Challenge)
}

// The measured catch rate of a cheater matches 1 − (1 − rate·f)^n, where f is the fraction of
// challengeable tiles it cannot prove. A cheater that fakes the layer's outputs on a fraction F
// of its steps fails the forward and backward tiles of those steps but not the tie tile (its
// weights are honest): f = 2F/3. One that trains on inputs of its own beside real receipts fails
// only the input tile, which every check of a compressed model opens beside a product tile: f = F.
func TestCatchRateMatchesTheory(t *testing.T) {
	// A check catches the cheater when it lands on a tile the cheater cannot prove at a step it
	// cheated on: a faked output at the product tile's step (forward or backward), an input of
	// its own at the input tile's step.
	faked := func(sc SpotCheck, cheated func(uint64) bool) bool {
		return (sc.Kind == CHALLENGE_KIND_FORWARD || sc.Kind == CHALLENGE_KIND_BACKWARD) && cheated(sc.Step)
	}
	ownInput := func(sc SpotCheck, cheated func(uint64) bool) bool { return sc.Input != nil && cheated(sc.Input.Step) }
	for _, c := range []struct {
		name  string
		tiles func(Attestation) Tiles
		rate  string
		F     float64 // fraction of steps cheated on
		n     int     // attestations per trial
		steps uint64
		fail  func(SpotCheck, func(uint64) bool) bool // whether the check lands on a tile it cannot prove
		q     float64                                 // the fraction of checks that open such a tile: f = q·F
	}{
		{"faked outputs, raw", rawTiles, "0.1", 1, 10, 8, faked, 2.0 / 3},
		{"faked outputs, raw", rawTiles, "0.2", 0.5, 10, 8, faked, 2.0 / 3},
		{"faked outputs, raw", rawTiles, "0.5", 0.25, 4, 8, faked, 2.0 / 3},
		{"faked outputs, raw", rawTiles, "0.05", 1, 30, 4, faked, 2.0 / 3},
		// On a compressed model every check opens an input tile beside the product tile: faked
		// outputs fail two product kinds of three as before; an input of its own (consistent
		// outputs) fails every check's input tile.
		{"faked outputs, compressed", testTiles, "0.2", 1, 10, 8, faked, 2.0 / 3},
		{"own input", testTiles, "0.2", 1, 10, 8, ownInput, 1},
		{"own input", testTiles, "0.5", 0.5, 10, 8, ownInput, 1},
	} {
		rate := sdkmath.LegacyMustNewDecFromStr(c.rate)
		const trials = 4000
		caught := 0
		id := uint64(0)
		for trial := range trials {
			for k := range c.n {
				id++
				a := Attestation{Id: id, Stage: 1, StepFrom: 1, StepTo: c.steps, TileRows: 4, TileWidth: 4}
				sc := DrawSpotCheck(blockHash(uint64(trial*1000+k)), a, c.tiles(a), rate)
				cheated := func(step uint64) bool { return float64(step-a.StepFrom) < c.F*float64(c.steps) }
				if sc.Challenge && c.fail(sc, cheated) {
					caught++
					break
				}
			}
		}
		r, _ := rate.Float64()
		f := c.q * c.F
		theory := 1 - math.Pow(1-r*f, float64(c.n))
		measured := float64(caught) / trials
		sigma := math.Sqrt(theory * (1 - theory) / trials)
		require.InDelta(t, theory, measured, 4*sigma+1e-3, "%s: rate %s, F %.2f, n %d", c.name, c.rate, c.F, c.n)
		t.Logf("%s: rate %s, cheated steps %.2f (f = %.3f), n %d: caught %.4f, theory %.4f", c.name, c.rate, c.F, f, c.n, measured, theory)
	}
}

// A cheater is caught at the first attestation whose spot check lands on a tile it cannot prove
// (index c); attestations up to c − k finalize first, where k = max(1, ⌈(challenge_window −
// response_window) / b⌉) for one attestation every b blocks (x/verify/README.md, "Expected value
// of cheating"). The mean paid count over the chain's own draws matches (1 − p)^k / p.
func TestCheaterExpectedPay(t *testing.T) {
	p := DefaultParams()
	rate, _ := p.ChallengeRate.Float64()
	for _, c := range []struct {
		name  string
		tiles func(Attestation) Tiles
		b     int64 // blocks between attestations
		q     float64
		fail  func(SpotCheck) bool // the cheater cannot prove this tile
	}{
		{"copied roots", testTiles, 1, 1, func(SpotCheck) bool { return true }},
		{"copied roots", testTiles, 2, 1, func(SpotCheck) bool { return true }},
		{"faked outputs, raw", rawTiles, 10, 2.0 / 3, func(sc SpotCheck) bool { return sc.Kind != CHALLENGE_KIND_TIE }},
		{"faked outputs, compressed", testTiles, 10, 2.0 / 3, func(sc SpotCheck) bool {
			return sc.Kind == CHALLENGE_KIND_FORWARD || sc.Kind == CHALLENGE_KIND_BACKWARD
		}},
		{"own input", testTiles, 1, 1, func(sc SpotCheck) bool { return sc.Input != nil }},
		{"own input", testTiles, 10, 1, func(sc SpotCheck) bool { return sc.Input != nil }},
	} {
		k := max(1, int((p.ChallengeWindow-p.ResponseWindow+c.b-1)/c.b))
		const trials = 4000
		var total, sq float64
		id := uint64(0)
		for trial := range trials {
			caughtAt := 0
			for j := 1; caughtAt == 0; j++ {
				id++
				a := Attestation{Id: id, StepFrom: 1, StepTo: p.AttestationPeriod, TileRows: 4, TileWidth: 4}
				if sc := DrawSpotCheck(blockHash(uint64(trial)<<20|id), a, c.tiles(a), p.ChallengeRate); sc.Challenge && c.fail(sc) {
					caughtAt = j
				}
			}
			paid := float64(max(0, caughtAt-k))
			total += paid
			sq += paid * paid
		}
		pp := rate * c.q
		theory := math.Pow(1-pp, float64(k)) / pp
		mean := total / trials
		sd := math.Sqrt(sq/trials - mean*mean)
		require.InDelta(t, theory, mean, 4*sd/math.Sqrt(trials), "%s, b %d", c.name, c.b)
		t.Logf("%s, one attestation every %d blocks (k = %d): %.2f attestations paid before the catch, theory %.2f", c.name, c.b, k, mean, theory)
	}
}

func TestParamsValidate(t *testing.T) {
	require.NoError(t, DefaultParams().Validate())
	for name, edit := range map[string]func(*Params){
		"period":     func(p *Params) { p.AttestationPeriod = 0 },
		"window":     func(p *Params) { p.ChallengeWindow = 0 },
		"response":   func(p *Params) { p.ResponseWindow = 0 },
		"rate":       func(p *Params) { p.ChallengeRate = sdkmath.LegacyNewDec(2) },
		"slash":      func(p *Params) { p.SlashFraction = sdkmath.LegacyZeroDec() },
		"reward":     func(p *Params) { p.ChallengerRewardBps = MaxBps + 1 },
		"proof size": func(p *Params) { p.MaxProofBytes = 10 },
		"gas":        func(p *Params) { p.ProofVerifyGas = 0 },
		"pace":       func(p *Params) { p.MaxStepsPerBlock = 0 },
		"burst":      func(p *Params) { p.StepBurst = p.AttestationPeriod - 1 },
		"lead":       func(p *Params) { p.MaxStageLead = p.AttestationPeriod - 1 },
		"clock":      func(p *Params) { p.ClockWindow = 0 },
		"bad key": func(p *Params) {
			p.VerifyingKeys = []VerifyingKey{{Shape: "forward-4x16x16-T4-tol4", Key: make([]byte, 688)}}
		},
		"bad shape": func(p *Params) { p.VerifyingKeys = []VerifyingKey{{Shape: "sideways", Key: make([]byte, 688)}} },
	} {
		p := DefaultParams()
		edit(&p)
		require.Error(t, p.Validate(), name)
	}
}

func TestGenesisValidate(t *testing.T) {
	require.NoError(t, DefaultGenesis().Validate())
	gs := DefaultGenesis()
	gs.Attestations = []Attestation{{Id: 1, Status: ATTESTATION_STATUS_FINALIZED, StepFrom: 1, StepTo: 1}}
	require.ErrorContains(t, gs.Validate(), "outside [1, next_attestation_id 1)")
	gs.NextAttestationId = 2
	require.NoError(t, gs.Validate())
	gs.NextChallengeId = 2
	gs.Challenges = []Challenge{{Id: 1, AttestationId: 1, Status: CHALLENGE_STATUS_OPEN}}
	require.ErrorContains(t, gs.Validate(), "open on attestation 1 which is ATTESTATION_STATUS_FINALIZED")
}

// testTiles are the tiles of a on a compressed model of width 16, rank 4 and vocabulary 256:
// four kinds on every stage.
func testTiles(a Attestation) Tiles { return AttestationTiles(a, 16, 4, 256) }

// rawTiles are the tiles of a on an uncompressed model of width 16: three kinds.
func rawTiles(a Attestation) Tiles { return AttestationTiles(a, 16, 16, 256) }
