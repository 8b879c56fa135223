package attest

import (
	"context"
	"errors"
	"fmt"
	"time"

	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// submitter hands batches to the chain in order. A worker's steps must be contiguous on chain,
// and roots are bound to their step numbers, so the commit loop commits each step for the number
// it expects the step to get; the submitter stores the layers under those numbers when the
// expectation holds, and commits them again under the right ones when it does not. A refusal of
// the model clock (the worker's pace, or its stage ahead of a neighbour:
// verifytypes.IsClockWait) passes with time, so the batch is sent again, with a growing wait,
// until it lands or ctx ends. A refusal that says the chain expects other step numbers (an
// attestation of this worker landed that the attester did not count) renumbers the batch to
// follow the chain and sends it again. Any other refusal drops the batch, and its numbers go to
// the next one.
type submitter struct {
	a *Attester
	// expect is the step the next attestation starts at.
	expect uint64
	// wait is the first wait after a clock refusal; it doubles up to maxWait.
	wait, maxWait time.Duration
}

func (a *Attester) newSubmitter() *submitter {
	return &submitter{a: a, expect: a.cfg.FirstStep, wait: a.cfg.Poll, maxWait: 16 * a.cfg.Poll}
}

func (s *submitter) submit(ctx context.Context, b batch) {
	a := s.a
	if err := s.place(&b); err != nil {
		a.count("dropped", func(st *Stats) { st.Dropped += uint64(b.n()) })
		a.cfg.Log.Error("storing committed steps; they are dropped", "err", err)
		return
	}
	msg := a.message(b)
	wait := s.wait
	transient := 0
	for {
		id, err := a.cfg.Chain.SubmitAttestation(ctx, msg)
		from, to := msg.StepFrom, msg.StepTo
		if err == nil {
			s.expect = to + 1
			a.mu.Lock()
			a.pending[id] = [2]uint64{from, to}
			a.mu.Unlock()
			a.count("attestations", func(s *Stats) { s.Attestations++ })
			a.cfg.Log.Info("attestation submitted", "id", id, "steps", fmt.Sprintf("%d..%d", from, to), "work_units", msg.WorkUnits)
			return
		}
		if ctx.Err() != nil {
			// Stopping: whether it landed is unknown, so its layers stay for a restart (which
			// keeps those of pending attestations and deletes the rest).
			a.cfg.Log.Warn("stopped before the attestation was confirmed", "steps", fmt.Sprintf("%d..%d", from, to), "err", err)
			return
		}
		if s.resync(ctx, err, &b) {
			msg = a.message(b)
			continue
		}
		if transientRefusal(err) && transient < maxTransient {
			// The SDK refused the transaction (a fee, a full mempool), not the attestation: a
			// dropped batch would cost its steps and a log gap after it (x/verify log_gap).
			transient++
			a.cfg.Log.Warn("the chain refused the transaction, not the attestation; attesting again shortly", "steps", fmt.Sprintf("%d..%d", from, to), "try", transient, "err", err)
			if sleepCtx(ctx, wait) == nil {
				wait = min(2*wait, s.maxWait)
			}
			continue
		}
		if verifytypes.IsClockWait(err) || !refused(err) {
			// The clock's wait passes with time; an error that is not the chain's verdict (a
			// timeout, a lost connection) leaves open whether it landed, and sending the same
			// attestation again is safe (a retry of one that landed is recognized as it).
			if verifytypes.IsClockWait(err) {
				a.count("clock_waits", func(s *Stats) { s.ClockWaits++ })
			}
			a.cfg.Log.Info("attesting again shortly", "steps", fmt.Sprintf("%d..%d", from, to), "wait", wait, "reason", err)
			if sleepCtx(ctx, wait) == nil {
				wait = min(2*wait, s.maxWait)
			}
			continue
		}
		a.cfg.Log.Error("attestation refused; its steps are dropped", "steps", fmt.Sprintf("%d..%d", from, to), "err", err)
		if derr := a.cfg.Store.Delete(from, to); derr != nil {
			a.cfg.Log.Warn("deleting layers", "err", derr)
		}
		// Its numbers go to the next batch.
		a.offset.Store(int64(s.expect) - int64(b.first+uint64(b.n())))
		return
	}
}

// place moves batch b's spooled layers to the steps the chain expects next: as committed when
// the attester's expectation was right, re-committed under s.expect otherwise (after a refused
// attestation, or when the chain's numbers moved). It then corrects the offset of the steps the
// commit loop expects, so later batches are committed right the first time.
func (s *submitter) place(b *batch) error {
	a := s.a
	if b.from == s.expect {
		for i := range uint64(b.n()) {
			if err := a.cfg.Store.Promote(b.first+i, b.from+i); err != nil {
				return err
			}
		}
		return nil
	}
	a.offset.Store(int64(s.expect) - int64(b.first))
	roots := make([]verifytypes.StepCommitment, 0, b.n())
	for i := range uint64(b.n()) {
		l, err := a.cfg.Store.Unspool(b.first + i)
		if err != nil {
			return err
		}
		l.Step = s.expect + i
		c, err := Commit(a.cfg.Secret, a.owner(), l)
		if err == nil {
			err = a.cfg.Store.Save(l)
		}
		if err != nil {
			return fmt.Errorf("attest: step %d: %w", l.Step, err)
		}
		r := c.Roots()
		r = withInputs(r, b.roots[i])
		roots = append(roots, r)
	}
	a.cfg.Log.Info("committed steps again for the numbers the chain expects", "committed_for", b.from, "now", s.expect, "steps", b.n())
	b.from, b.roots = s.expect, roots
	return nil
}

// resync handles a refusal that says the chain expects other step numbers: it reads the worker's
// last attested step and moves b to follow it, re-committing its layers. At most a few times per
// batch, so a chain that keeps moving cannot keep the submitter here.
func (s *submitter) resync(ctx context.Context, err error, b *batch) bool {
	a := s.a
	if !errors.Is(err, verifytypes.ErrOverlappingSteps) && !errors.Is(err, verifytypes.ErrStepsNotContiguous) {
		return false
	}
	if b.resyncs >= 3 {
		return false
	}
	b.resyncs++
	last, ok, qerr := a.cfg.Chain.LastAttestedStep(ctx, a.cfg.Worker, a.cfg.ModelID)
	if qerr != nil {
		a.cfg.Log.Warn("reading the last attested step", "err", qerr)
		return false
	}
	next := uint64(1)
	if ok {
		next = last + 1
	}
	if next == b.from {
		return false
	}
	var roots []verifytypes.StepCommitment
	if err := a.cfg.Store.Move(b.from, next, b.n(), func(l *Layer) error {
		c, err := Commit(a.cfg.Secret, a.owner(), l)
		if err == nil {
			r := c.Roots()
			r = withInputs(r, b.roots[len(roots)])
			roots = append(roots, r)
		}
		return err
	}); err != nil {
		a.cfg.Log.Error("renumbering steps to follow the chain", "err", err)
		return false
	}
	a.cfg.Log.Info("the chain expects other step numbers; renumbered", "from", b.from, "to", next, "reason", err)
	b.from, b.roots, s.expect = next, roots, next
	a.offset.Store(int64(next) - int64(b.first))
	return true
}

// refused says whether err is the chain's verdict on a transaction (an error with an ABCI code:
// it did not land), rather than a failure that leaves open whether it landed.
func refused(err error) bool {
	var coded interface{ ABCICode() uint32 }
	return errors.As(err, &coded)
}

// maxTransient bounds the tries of one attestation the SDK refuses (transientRefusal).
const maxTransient = 8

// transientRefusal says whether err is a refusal of the transaction rather than of its message
// (trainer/chain TxError.Transient).
func transientRefusal(err error) bool {
	var t interface{ Transient() bool }
	return errors.As(err, &t) && t.Transient()
}

// message is the attestation of numbered batch b.
func (a *Attester) message(b batch) *verifytypes.MsgSubmitAttestation {
	return &verifytypes.MsgSubmitAttestation{
		Worker: a.cfg.Worker, ModelId: a.cfg.ModelID, Stage: a.cfg.Stage, StepFrom: b.from, StepTo: b.from + uint64(b.n()) - 1,
		WorkUnits: uint64(b.n()) * uint64(a.cfg.Layers),
		TileRows:  uint32(b.rows), TileWidth: uint32(a.cfg.TileWidth),
		Commitments: b.roots, StateRoot: b.state[:], LogHead: b.head[:],
		EndStateRoot: b.end[:], EndLogHead: b.endHead[:], Sends: b.sends,
	}
}
