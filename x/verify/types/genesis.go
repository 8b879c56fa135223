package types

import (
	"bytes"
	"fmt"
)

// DefaultGenesis has default params and no state.
func DefaultGenesis() *GenesisState {
	return &GenesisState{Params: DefaultParams(), NextAttestationId: 1, NextChallengeId: 1, NextDisputeId: 1, NextLogRequestId: 1}
}

// Validate checks a genesis state for what InitGenesis cannot repair: bad params, duplicate or
// out-of-sequence ids, challenges of unknown attestations, open challenges of finished ones.
func (gs GenesisState) Validate() error {
	if err := gs.Params.Validate(); err != nil {
		return fmt.Errorf("params: %w", err)
	}
	atts := make(map[uint64]Attestation, len(gs.Attestations))
	type input struct {
		model  uint64
		digest string
	}
	inputs := map[input]uint64{} // → the attestation holding it
	for i, a := range gs.Attestations {
		if n := len(a.InputMicrobatches); n != 0 && n != len(a.InputDigests) {
			return fmt.Errorf("attestation %d: %d input microbatches for %d input digests: one each, or none", a.Id, n, len(a.InputDigests))
		}
		for _, d := range a.InputDigests {
			if len(d) != 32 {
				return fmt.Errorf("attestation %d: input digest of %d bytes, want 32", a.Id, len(d))
			}
			in := input{a.ModelId, string(InputKey(a.Worker, d))} // counted per worker, as the keeper indexes it
			if prev, dup := inputs[in]; dup {
				return fmt.Errorf("attestation %d: input payload %x on model %d already counted for %s by attestation %d", a.Id, d, a.ModelId, a.Worker, prev)
			}
			inputs[in] = a.Id
		}
		switch {
		case a.Id == 0 || a.Id >= gs.NextAttestationId:
			return fmt.Errorf("attestations[%d]: id %d outside [1, next_attestation_id %d)", i, a.Id, gs.NextAttestationId)
		case atts[a.Id].Id != 0:
			return fmt.Errorf("attestations[%d]: id %d listed twice", i, a.Id)
		case a.Status == ATTESTATION_STATUS_UNSPECIFIED:
			return fmt.Errorf("attestation %d: status unspecified", a.Id)
		case a.StepTo < a.StepFrom:
			return fmt.Errorf("attestation %d: step_to %d below step_from %d", a.Id, a.StepTo, a.StepFrom)
		case a.Status == ATTESTATION_STATUS_PENDING && uint64(len(a.Commitments)) != a.Steps():
			return fmt.Errorf("attestation %d: pending with %d commitments for %d steps", a.Id, len(a.Commitments), a.Steps())
		}
		for _, c := range a.Commitments {
			if err := c.Validate(); err != nil {
				return fmt.Errorf("attestation %d: %w", a.Id, err)
			}
		}
		if a.Status != ATTESTATION_STATUS_PENDING && (len(a.Sends) > 0 || a.PeerId != "") {
			return fmt.Errorf("attestation %d: %s, yet it keeps sends or the peer that signed them (kept while pending only)", a.Id, a.Status)
		}
		if err := ValidateSends(a.Sends); err != nil {
			return fmt.Errorf("attestation %d: %w", a.Id, err)
		}
		switch {
		case a.FirstOnStage && (a.LogGap || a.PrevSeq != 0):
			return fmt.Errorf("attestation %d: first on its stage, yet log_gap %v or prev_seq %d (a first attestation follows nothing)", a.Id, a.LogGap, a.PrevSeq)
		case a.LogGap && a.PrevSeq != 0:
			return fmt.Errorf("attestation %d: log_gap, yet it names prev_seq %d (a gap follows nothing)", a.Id, a.PrevSeq)
		case a.PrevSeq != 0 && len(a.Sends) > 0 && a.Sends[0].Seq <= a.PrevSeq:
			return fmt.Errorf("attestation %d: its first send %d is not above its prev_seq %d", a.Id, a.Sends[0].Seq, a.PrevSeq)
		}
		atts[a.Id] = a
	}
	seen := make(map[uint64]bool, len(gs.Challenges))
	for i, c := range gs.Challenges {
		a, ok := atts[c.AttestationId]
		switch {
		case c.Id == 0 || c.Id >= gs.NextChallengeId:
			return fmt.Errorf("challenges[%d]: id %d outside [1, next_challenge_id %d)", i, c.Id, gs.NextChallengeId)
		case seen[c.Id]:
			return fmt.Errorf("challenges[%d]: id %d listed twice", i, c.Id)
		case c.Status == CHALLENGE_STATUS_UNSPECIFIED:
			return fmt.Errorf("challenge %d: status unspecified", c.Id)
		case !ok && c.Status == CHALLENGE_STATUS_OPEN:
			return fmt.Errorf("challenge %d: open on unknown attestation %d", c.Id, c.AttestationId)
		case ok && c.Status == CHALLENGE_STATUS_OPEN && a.Status != ATTESTATION_STATUS_PENDING:
			return fmt.Errorf("challenge %d: open on attestation %d which is %s", c.Id, a.Id, a.Status)
		case ok && c.Status == CHALLENGE_STATUS_OPEN && !hasStep(a, c.Step):
			return fmt.Errorf("challenge %d: step %d not in attestation %d", c.Id, c.Step, a.Id)
		}
		if err := c.Bond.Validate(); err != nil {
			return fmt.Errorf("challenge %d: bond: %w", c.Id, err)
		}
		seen[c.Id] = true
	}
	if err := validateDisputes(gs.Disputes, gs.NextDisputeId, atts); err != nil {
		return err
	}
	if err := validateLogRequests(gs.LogRequests, gs.NextLogRequestId, atts); err != nil {
		return err
	}
	type key struct {
		model  uint64
		worker string
	}
	// Each worker's latest attestation on a model: where a pending one is, its clock must say
	// where it ended (the next one's log_gap and prev_seq are read from there).
	latest := make(map[key]Attestation, len(atts))
	for _, a := range atts {
		k := key{a.ModelId, a.Worker}
		if a.Id > latest[k].Id {
			latest[k] = a
		}
	}
	last := make(map[key]bool, len(gs.LastSteps))
	for i, l := range gs.LastSteps {
		k := key{l.ModelId, l.Worker}
		if last[k] {
			return fmt.Errorf("last_steps[%d]: model %d worker %s listed twice", i, l.ModelId, l.Worker)
		}
		last[k] = true
		if n := len(l.EndLogHead); n != 0 && n != 32 {
			return fmt.Errorf("last_steps[%d]: end_log_head is %d bytes; want none or a 32-byte log head", i, n)
		}
		if len(l.EndLogHead) == 0 && (l.LastSeq != 0 || l.PeerId != "") {
			return fmt.Errorf("last_steps[%d]: last_seq %d or peer_id %q with no end_log_head: a clock that names no head follows nothing", i, l.LastSeq, l.PeerId)
		}
		a, ok := latest[k]
		if !ok || a.Status != ATTESTATION_STATUS_PENDING || len(l.EndLogHead) == 0 {
			continue
		}
		switch {
		case !bytes.Equal(a.EndLogHead, l.EndLogHead) || a.PeerId != l.PeerId:
			return fmt.Errorf("last_steps[%d]: end_log_head %x and peer_id %q are not those of the worker's latest attestation %d (%x, %q)", i, l.EndLogHead, l.PeerId, a.Id, a.EndLogHead, a.PeerId)
		case len(a.Sends) > 0 && a.Sends[len(a.Sends)-1].Seq != l.LastSeq:
			return fmt.Errorf("last_steps[%d]: last_seq %d is not the last send (%d) of the worker's latest attestation %d", i, l.LastSeq, a.Sends[len(a.Sends)-1].Seq, a.Id)
		}
	}
	type stageKey struct {
		model  uint64
		stage  uint32
		height int64
	}
	stages := make(map[stageKey]bool, len(gs.StageSteps))
	for i, s := range gs.StageSteps {
		k := stageKey{s.ModelId, s.Stage, s.Height}
		if stages[k] {
			return fmt.Errorf("stage_steps[%d]: model %d stage %d height %d listed twice", i, s.ModelId, s.Stage, s.Height)
		}
		stages[k] = true
	}
	return nil
}

func hasStep(a Attestation, step uint64) bool {
	_, ok := a.Commitment(step)
	return ok
}

// validateDisputes checks the disputes of a genesis: ids below next, each once; an open one on a
// pending attestation, with both parties and its bond.
func validateDisputes(ds []Dispute, next uint64, atts map[uint64]Attestation) error {
	seen := make(map[uint64]bool, len(ds))
	type referee struct {
		attestation uint64
		referee     string
	}
	open := make(map[referee]bool)
	for i, d := range ds {
		a, ok := atts[d.AttestationId]
		switch {
		case d.Id == 0 || d.Id >= max(next, 1):
			return fmt.Errorf("disputes[%d]: id %d outside [1, next_dispute_id %d)", i, d.Id, next)
		case seen[d.Id]:
			return fmt.Errorf("disputes[%d]: id %d listed twice", i, d.Id)
		case d.Phase == DISPUTE_PHASE_UNSPECIFIED:
			return fmt.Errorf("dispute %d: phase unspecified", d.Id)
		case d.Open() && (!ok || a.Status != ATTESTATION_STATUS_PENDING):
			return fmt.Errorf("dispute %d: open on attestation %d, which is not pending", d.Id, d.AttestationId)
		case d.Open() && open[referee{d.AttestationId, d.Referee}]:
			return fmt.Errorf("dispute %d: %s has two open disputes of attestation %d (one a referee)", d.Id, d.Referee, d.AttestationId)
		case d.Open() && (d.Worker != a.Worker || d.Referee == "" || d.Referee == d.Worker):
			return fmt.Errorf("dispute %d: parties %q and %q for attestation %d of %s", d.Id, d.Worker, d.Referee, a.Id, a.Worker)
		}
		if err := d.Bond.Validate(); err != nil {
			return fmt.Errorf("dispute %d: bond: %w", d.Id, err)
		}
		if d.Open() && (d.Phase == DISPUTE_PHASE_LOG || d.Phase == DISPUTE_PHASE_EVENT) &&
			(len(d.Lo.Root) != 32 || len(d.Lo.LogHead) != 32 || len(d.Hi.Root) != 32 || len(d.Hi.LogHead) != 32) {
			return fmt.Errorf("dispute %d: the log's bisection needs 32-byte roots and heads at both ends", d.Id)
		}
		seen[d.Id] = true
		if d.Open() {
			open[referee{d.AttestationId, d.Referee}] = true
		}
	}
	return nil
}

// validateLogRequests checks the log requests of a genesis: ids below next, each once; one per
// (attestation, referee); an open one on a pending attestation of its worker, by another
// referee.
func validateLogRequests(rs []LogRequest, next uint64, atts map[uint64]Attestation) error {
	seen := make(map[uint64]bool, len(rs))
	type asked struct {
		attestation uint64
		referee     string
	}
	once := make(map[asked]bool)
	for i, r := range rs {
		a, ok := atts[r.AttestationId]
		switch {
		case r.Id == 0 || r.Id >= max(next, 1):
			return fmt.Errorf("log_requests[%d]: id %d outside [1, next_log_request_id %d)", i, r.Id, next)
		case seen[r.Id]:
			return fmt.Errorf("log_requests[%d]: id %d listed twice", i, r.Id)
		case once[asked{r.AttestationId, r.Referee}]:
			return fmt.Errorf("log request %d: %s asked for attestation %d's log twice", r.Id, r.Referee, r.AttestationId)
		case r.Status == LOG_REQUEST_STATUS_UNSPECIFIED:
			return fmt.Errorf("log request %d: status unspecified", r.Id)
		case r.Open() && (!ok || a.Status != ATTESTATION_STATUS_PENDING):
			return fmt.Errorf("log request %d: open on attestation %d, which is not pending", r.Id, r.AttestationId)
		case r.Open() && (r.Worker != a.Worker || r.ModelId != a.ModelId || r.Stage != a.Stage || r.Referee == "" || r.Referee == r.Worker):
			return fmt.Errorf("log request %d: worker %q, referee %q, model %d stage %d for attestation %d of %s (model %d stage %d)",
				r.Id, r.Worker, r.Referee, r.ModelId, r.Stage, a.Id, a.Worker, a.ModelId, a.Stage)
		}
		seen[r.Id] = true
		once[asked{r.AttestationId, r.Referee}] = true
	}
	return nil
}
