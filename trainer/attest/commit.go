package attest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/protolearn/protolearn/trainer/engine"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// batch is a run of spooled layers (the attester's sequence numbers first…first+n−1), committed
// for the steps from…from+n−1 that the attester expects the chain to give them.
type batch struct {
	first, from uint64
	rows        int
	roots       []verifytypes.StepCommitment
	// state is the root of the stage's state before the batch's first step, head the replay
	// log's head there.
	state, head [32]byte
	// end and endHead are the same after the batch's last step, last its local step.
	end, endHead [32]byte
	last         uint64
	// resyncs counts the times the batch was renumbered to follow the chain.
	resyncs int
	// sends are the payloads the log records as signed in the batch's range (Config.Sends).
	sends []verifytypes.SentPayload
}

func (b batch) n() int { return len(b.roots) }

// commitLoop commits and spools taps as they come and hands full batches to the submitter, so
// that a slow chain never holds up committing (and so never makes Tap drop steps).
func (a *Attester) commitLoop(ctx context.Context) error {
	submits := make(chan batch, a.cfg.MaxQueued)
	done := make(chan struct{})
	subCtx, cancelSub := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSub()
	go func() {
		defer close(done)
		sub := a.newSubmitter()
		for b := range submits {
			sub.submit(subCtx, b)
		}
	}()
	var b batch
	var seq uint64
	// hold runs while a full batch waits for the next step's start (HoldFull).
	hold := time.NewTimer(time.Hour)
	hold.Stop()
	flush := func() {
		hold.Stop()
		if b.n() > 0 && a.withSends(&b) {
			submits <- b
		}
		b = batch{}
	}
	take := func(t tapped) {
		full := uint64(b.n()) == a.cfg.Period
		a.commitTap(&b, &seq, t, flush)
		if !full && uint64(b.n()) == a.cfg.Period {
			hold.Reset(a.cfg.HoldFull)
		}
	}
	drain := func() {
		for {
			select {
			case t := <-a.taps:
				take(t)
			default:
				flush()
				return
			}
		}
	}
	for {
		select {
		case <-ctx.Done():
			// Attest what is committed, with a little time of its own.
			drain()
			close(submits)
			t := time.AfterFunc(15*time.Second, cancelSub)
			<-done
			t.Stop()
			return nil
		case <-a.finish:
			drain()
			close(submits)
			<-done
			return nil
		case t := <-a.taps:
			take(t)
		case <-hold.C:
			a.cfg.Log.Info("a full batch waited for the next step; attested ending at its own last step", "waited", a.cfg.HoldFull)
			flush()
		}
	}
}

// withSends sets b's sends from the log (Config.Sends); it says whether b can be attested: a
// range whose sends the log cannot tell is not (the chain would hold its receivers' receipts
// against a list that is not the log's).
func (a *Attester) withSends(b *batch) bool {
	if a.cfg.Sends == nil {
		return true
	}
	sends, err := a.cfg.Sends(b.head, b.endHead)
	if err != nil {
		a.count("dropped", func(s *Stats) { s.Dropped += uint64(b.n()) })
		a.cfg.Log.Warn("steps not attested: the log does not say what they signed", "steps", b.n(), "err", err)
		return false
	}
	b.sends = sends
	return true
}

// commitTap commits one step's layer for the step the attester expects it to get (sequence
// number + offset: contiguous from FirstStep unless the submitter corrected it) and spools it
// into batch b.
func (a *Attester) commitTap(b *batch, seq *uint64, t tapped, flush func()) {
	if t.start {
		// The next step starts: a full batch ending with the step before ends here.
		if uint64(b.n()) == a.cfg.Period && t.step == b.last+1 {
			b.end, b.endHead = t.input.StateRoot, t.input.LogHead
			flush()
		}
		return
	}
	switch {
	case b.n() == 0:
	case t.step != b.last+1:
		// A step between the batch and this one was not attested (dropped when the attester was
		// behind, or not committed): the batch ends where its last step did, so that its range
		// (x/verify end_state_root) holds only updates it names.
		flush()
	case t.tap.Rows != b.rows || uint64(b.n()) == a.cfg.Period:
		// Another tile shape, or the batch is full, and this step follows its last: it ends
		// where this one starts, so that what the log holds between the two (an average) is in
		// its range and the next range starts where it ends (x/verify log_gap: a receipt
		// between them is bound to one of the two, MsgReportEquivocation). The replay and a
		// dispute take the fold in; its sends are the log's between the two heads.
		b.end, b.endHead = t.input.StateRoot, t.input.LogHead
		flush()
	}
	step := uint64(int64(*seq) + a.offset.Load())
	start := time.Now()
	roots, err := a.commitStep(*seq, step, t.tap, t.input.Payload, t.input.Microbatch)
	if err != nil {
		a.count("dropped", func(s *Stats) { s.Dropped++ })
		a.cfg.Log.Warn("step not attested", "local_step", t.step, "err", err)
		flush() // its updates must lie in no attested range
		return
	}
	d := time.Since(start)
	a.commitSeconds.Observe(d.Seconds())
	a.count("steps", func(s *Stats) { s.Steps++; s.CommitTime += d })
	if b.n() == 0 {
		b.first, b.from, b.rows, b.state, b.head = *seq, step, t.tap.Rows, t.input.StateRoot, t.input.LogHead
	}
	*seq++
	roots = withInputs(roots, verifytypes.StepCommitment{
		Input: t.input.Receipt, OtherInputs: t.input.Others, GradInputs: t.input.Grads,
		Sample: &verifytypes.Sample{Draw: t.input.Draw, OtherDraws: t.input.OtherDraws},
	})
	b.roots = append(b.roots, roots)
	b.end, b.endHead, b.last = t.input.EndRoot, t.input.EndHead, t.step
	// A full batch waits for the next step's start, which says where it ends (above), for
	// HoldFull, or for the end of training (drain).
}

// commitStep quantizes, commits (for step) and spools (as seq) one step's layer: X̂ against the
// query weights with the norm's gain folded in; X̂ derived from the received payload where the
// stage has compression tables. The output gradient is scaled by a power of two so that its
// largest value uses the format's range (gradients are far below one ULP of 2^-8 otherwise);
// the scale is private, since only consistency is checked.
func (a *Attester) commitStep(seq, step uint64, t *engine.Tap, input []byte, mb uint64) (verifytypes.StepCommitment, error) {
	dy := ScaleToRange(t.DY, 32)
	w, err := FoldGain(t.G, t.W, t.D)
	if err != nil {
		return verifytypes.StepCommitment{}, err
	}
	var l *Layer
	switch {
	case a.cfg.Tables != nil && input != nil && a.cfg.CheatOwnInput > 0 && a.cfg.Rand.Float64() < a.cfg.CheatOwnInput:
		l, err = NewLayer(step, t.Rows, t.D, ownInput(a.cfg.Rand, t.Rows, t.D), w, dy)
		if l != nil {
			l.Input = input // the receipt is real; X is not derived from it
			a.cfg.Log.Debug("cheating: committed a designated input of our own", "step", step)
		}
	case a.cfg.Tables != nil && a.cfg.Stage == 0:
		l, err = NewEmbedLayer(step, a.cfg.Tables, mb, t.IDs, t.E, t.X, w, dy)
	case a.cfg.Tables != nil && input != nil:
		l, err = NewDerivedLayer(step, a.cfg.Tables, input, t.X, w, dy)
	case a.cfg.Tables != nil:
		err = fmt.Errorf("attest: step %d came with no input payload to derive X from", step)
	default:
		l, err = NewLayer(step, t.Rows, t.D, t.X, w, dy)
	}
	if err != nil {
		return verifytypes.StepCommitment{}, err
	}
	if a.cfg.Cheat > 0 && a.cfg.Rand.Float64() < a.cfg.Cheat {
		l.Fake(a.cfg.Rand)
		a.cfg.Log.Debug("cheating: faked the designated layer", "step", step)
	}
	c, err := Commit(a.cfg.Secret, a.owner(), l)
	if err != nil {
		return verifytypes.StepCommitment{}, err
	}
	if err := a.cfg.Store.Spool(seq, l); err != nil {
		return verifytypes.StepCommitment{}, err
	}
	return c.Roots(), nil
}

// ownInput is rows of random data normalized as X̂ is (mean square 1): what a worker training
// on inputs of its own would commit.
func ownInput(rng *rand.Rand, rows, d int) []float32 {
	x := make([]float32, rows*d)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// ScaleToRange multiplies v by the power of two that brings its largest magnitude closest to,
// without exceeding, limit (v itself when it is all zeros).
func ScaleToRange(v []float32, limit float64) []float32 {
	var m float64
	for _, x := range v {
		m = math.Max(m, math.Abs(float64(x)))
	}
	if m == 0 || math.IsNaN(m) || math.IsInf(m, 0) {
		return v
	}
	s := float32(math.Exp2(math.Floor(math.Log2(limit / m))))
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = x * s
	}
	return out
}
