package attest

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// watch answers challenges and prunes the layers of final attestations, every Poll or on Wake.
func (a *Attester) watch(ctx context.Context) {
	tick := time.NewTicker(a.cfg.Poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-a.cfg.Wake:
		}
		a.answer(ctx)
		a.prune(ctx)
		a.pruneDoubt(ctx)
	}
}

// answer starts answering every open challenge not already being answered; each is proved and
// sent on its own goroutine, so one slow answer never delays another's deadline.
func (a *Attester) answer(ctx context.Context) {
	open, err := a.cfg.Chain.OpenChallenges(ctx, a.cfg.Worker)
	if err != nil {
		if ctx.Err() == nil {
			a.cfg.Log.Warn("listing open challenges", "err", err)
		}
		return
	}
	// The nearest deadline first, at most MaxProving at once: the rest wait for the next check.
	slices.SortFunc(open, func(x, y verifytypes.Challenge) int { return cmp.Compare(x.DeadlineHeight, y.DeadlineHeight) })
	for _, c := range open {
		a.mu.Lock()
		busy := a.answered[c.Id] || a.inflight[c.Id]
		full := len(a.inflight) >= a.cfg.MaxProving
		if !busy && !full {
			a.inflight[c.Id] = true
		}
		a.mu.Unlock()
		if busy || full {
			continue
		}
		a.cfg.Log.Info("challenged", "challenge", c.Id, "attestation", c.AttestationId, "kind", c.Kind,
			"step", c.Step, "row", c.Row, "block", c.Col, "challenger", c.Challenger, "deadline", c.DeadlineHeight)
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.answerOne(ctx, c)
		}()
	}
}

func (a *Attester) answerOne(ctx context.Context, c verifytypes.Challenge) {
	done := func(final bool) {
		a.mu.Lock()
		delete(a.inflight, c.Id)
		if final {
			a.answered[c.Id] = true
		}
		a.mu.Unlock()
	}
	proof, opening, sample, err := a.prove(ctx, c)
	if err != nil {
		done(true)
		a.count("unprovable", func(s *Stats) { s.Unprovable++ })
		a.cfg.Log.Error("cannot prove the challenged tile", "challenge", c.Id, "err", err)
		return
	}
	if err := a.cfg.Chain.RespondChallenge(ctx, &verifytypes.MsgRespondChallenge{Worker: a.cfg.Worker, ChallengeId: c.Id, Proof: proof, InputOpening: opening, DatasetOpening: sample}); err != nil {
		done(false)
		if ctx.Err() == nil {
			a.cfg.Log.Warn("response not accepted; retrying at the next check", "challenge", c.Id, "err", err)
		}
		return
	}
	done(true)
	a.count("answered", func(s *Stats) { s.Answered++ })
	a.cfg.Log.Info("challenge answered", "challenge", c.Id)
}

// prove recommits the stored layer of the challenged step and proves the tile; an input
// challenge's answer also opens the challenged token of the stored payload. The roots are
// bound to the chain id the attestation was submitted to, which a chain restarted from an export
// may have changed since.
func (a *Attester) prove(ctx context.Context, c verifytypes.Challenge) ([]byte, *verifytypes.TokenOpening, *verifytypes.DatasetOpening, error) {
	l, cm, err := a.layerFor(ctx, c)
	if err != nil {
		return nil, nil, nil, err
	}
	o, err := cm.Open(c, a.tiles(), a.cfg.Tables)
	if err != nil {
		return nil, nil, nil, err
	}
	var opening *verifytypes.TokenOpening
	var sample *verifytypes.DatasetOpening
	switch {
	case c.Kind != verifytypes.CHALLENGE_KIND_INPUT:
	case a.cfg.Stage == 0:
		if sample, err = l.OpenSample(a.cfg.Sampled, int(c.Row)); err != nil {
			return nil, nil, nil, err
		}
	default:
		if opening, err = l.OpenInput(c); err != nil {
			return nil, nil, nil, err
		}
	}
	proof, err := a.cfg.Prover.Prove(o)
	return proof, opening, sample, err
}

// tiles are the attester's tiles, apart from the layer's width and rows: its stage and tile
// width, and with the compression tables, the model's rank and vocabulary (which make input
// challenges possible).
func (a *Attester) tiles() verifytypes.Tiles {
	t := verifytypes.Tiles{Stage: a.cfg.Stage, Width: uint32(a.cfg.TileWidth)}
	if a.cfg.Tables != nil {
		t.Rank, t.Vocab = uint32(a.cfg.Tables.K()), uint32(a.cfg.Tables.Vocab())
	}
	return t
}

// owner is whose roots this attester commits.
func (a *Attester) owner() Owner {
	return Owner{ChainID: a.cfg.ChainID, ModelID: a.cfg.ModelID, Stage: a.cfg.Stage, Worker: a.cfg.Worker}
}

func (a *Attester) prune(ctx context.Context) {
	a.mu.Lock()
	ids := make(map[uint64][2]uint64, len(a.pending))
	for id, r := range a.pending {
		ids[id] = r
	}
	a.mu.Unlock()
	for id, r := range ids {
		at, err := a.cfg.Chain.Attestation(ctx, id)
		if err != nil || at.Status == verifytypes.ATTESTATION_STATUS_PENDING {
			continue
		}
		if err := a.cfg.Store.Delete(r[0], r[1]); err != nil {
			a.cfg.Log.Warn("deleting layers", "err", err)
			continue
		}
		a.mu.Lock()
		delete(a.pending, id)
		a.mu.Unlock()
		if at.Status == verifytypes.ATTESTATION_STATUS_FINALIZED {
			a.count("finalized", func(s *Stats) { s.Finalized++ })
			a.cfg.Log.Info("attestation finalized", "id", id, "steps", fmt.Sprintf("%d..%d", r[0], r[1]), "work_units", at.WorkUnits)
		} else {
			a.count("voided", func(s *Stats) { s.Voided++ })
			a.cfg.Log.Warn("attestation voided", "id", id, "reason", at.VoidReason)
		}
	}
}

// layerFor is the stored layer the challenged step was attested with, committed: the step's
// layer, or the one set aside when a previous process's attestation of that step was in doubt
// (Recover), whichever commits to the attestation's roots.
func (a *Attester) layerFor(ctx context.Context, c verifytypes.Challenge) (*Layer, *Committed, error) {
	owner := a.owner()
	at, atErr := a.cfg.Chain.Attestation(ctx, c.AttestationId)
	if atErr == nil {
		owner.ChainID = at.ChainIDOr(owner.ChainID)
	}
	var err error
	for _, load := range []func(uint64) (*Layer, error){a.cfg.Store.Load, a.cfg.Store.LoadDoubt} {
		l, lerr := load(c.Step)
		if lerr != nil {
			if err == nil {
				err = lerr
			}
			continue
		}
		cm, cerr := Commit(a.cfg.Secret, owner, l)
		if cerr != nil {
			return nil, nil, cerr
		}
		if atErr != nil || committedTo(cm.Roots(), at, c.Step) {
			return l, cm, nil
		}
		err = fmt.Errorf("attest: the stored layer of step %d does not commit to attestation %d's roots", c.Step, c.AttestationId)
	}
	return nil, nil, err
}

// committedTo says whether r, a layer's roots, are those at holds for step.
func committedTo(r verifytypes.StepCommitment, at verifytypes.Attestation, step uint64) bool {
	if step < at.StepFrom || step-at.StepFrom >= uint64(len(at.Commitments)) {
		return false
	}
	c := at.Commitments[step-at.StepFrom]
	return bytes.Equal(r.XRoot, c.XRoot) && bytes.Equal(r.WColsRoot, c.WColsRoot) && bytes.Equal(r.YRoot, c.YRoot) &&
		bytes.Equal(r.DyRoot, c.DyRoot) && bytes.Equal(r.WRowsRoot, c.WRowsRoot) && bytes.Equal(r.DxRoot, c.DxRoot)
}

// pruneDoubt deletes the layers Recover set aside once DoubtWindow has passed, unless a pending
// attestation of the worker holds their steps (the one in doubt landed: they answer its
// challenges until it is final).
func (a *Attester) pruneDoubt(ctx context.Context) {
	a.mu.Lock()
	until := a.doubtUntil
	a.mu.Unlock()
	if until.IsZero() || time.Now().Before(until) {
		return
	}
	doubted, err := a.cfg.Store.Doubted()
	if err != nil || len(doubted) == 0 {
		return
	}
	pending, err := a.cfg.Chain.PendingAttestations(ctx, a.cfg.Worker, a.cfg.ModelID)
	if err != nil {
		return
	}
	for _, st := range doubted {
		held := false
		for _, p := range pending {
			held = held || (st >= p.StepFrom && st <= p.StepTo)
		}
		if held {
			continue
		}
		if err := a.cfg.Store.DeleteDoubt(st); err != nil {
			a.cfg.Log.Warn("deleting a layer set aside", "step", st, "err", err)
		}
	}
}
