package swarm

import (
	"fmt"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/protolearn/protolearn/logevent"
	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/trainer/boundary"
	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/replay"
	"github.com/protolearn/protolearn/trainer/wire"
)

// originate draws stage 0's next microbatch and runs its forward.
func (w *Worker) originate() error {
	c := w.cfg.FirstMicrobatch + w.originated
	w.originated++
	mb := c*w.replicas + w.replica
	if w.cfg.Draw != nil {
		mb = w.cfg.Draw(c)
		w.drawOf[mb] = c
	}
	step := c / uint64(w.cfg.Microbatches)
	b := w.cfg.Data.At(mb)
	ids := boundary.IDs(b.Inputs, 0, w.cfg.Rows, w.spec.SeqLen)
	if err := w.forward(&event{typ: wire.Activations, step: step, mb: mb, in: ids, ids: ids}); err != nil {
		return err
	}
	if every := w.cfg.EvalEvery * uint64(w.cfg.Microbatches); every > 0 && w.originated%every == 0 {
		round := w.originated / every
		for k, eb := range w.cfg.Eval {
			ids := boundary.IDs(eb.Inputs, 0, w.cfg.Rows, w.spec.SeqLen)
			if err := w.forward(&event{typ: wire.Activations, step: round * w.cfg.EvalEvery, mb: evalID(w.replica, round, k), in: ids, ids: ids}); err != nil {
				return err
			}
		}
	}
	return nil
}

// forward runs a microbatch's forward: the last stage also its loss and
// backward.
func (w *Worker) forward(ev *event) error {
	defer w.updateStatus()
	if w.last {
		return w.lastStage(ev)
	}
	out, err := w.st.Forward(ev.in, ev.ids)
	if err != nil {
		return fmt.Errorf("swarm: stage %d forward of microbatch %d: %w", w.stage, ev.mb, err)
	}
	msg, err := w.codec.EncodeActivations(out, ev.ids, ev.step, uint32(ev.mb))
	if err != nil {
		return fmt.Errorf("swarm: stage %d microbatch %d: encoding activations: %w", w.stage, ev.mb, err)
	}
	w.metrics.forwards.Inc()
	d, err := w.digestOf(msg)
	if err == nil {
		msg, err = w.equivocated(msg)
	}
	if err != nil {
		return fmt.Errorf("swarm: stage %d microbatch %d: %w", w.stage, ev.mb, err)
	}
	if isEval(ev.mb) { // forward only, fire and forget
		if to, ok := w.pick(ev.mb); ok {
			w.send(to, &wire.Frame{Type: wire.Activations, Model: w.cfg.Model, Stage: uint32(w.stage + 1), Step: ev.step, Microbatch: ev.mb, Seq: w.number(d, nil), Body: msg})
		} else {
			w.log.Warn("no live replica of the next stage; evaluation microbatch dropped", "mb", ev.mb)
		}
		return nil
	}
	if old := w.pending[ev.mb]; old != nil {
		w.log.Debug("microbatch arrived again; running it again", "mb", ev.mb, "from", ev.from, "was_from", old.from)
	}
	w.pending[ev.mb] = &pending{step: ev.step, in: ev.in, ids: ev.ids, from: ev.from, input: ev.input, msg: msg, digest: d, replay: ev.replay, elsewhere: ev.elsewhere}
	w.markSeen(ev.mb)
	w.route(ev.mb)
	return nil
}

// lastStage computes the loss and the gradient of a microbatch and returns
// the gradient to its sender.
func (w *Worker) lastStage(ev *event) error {
	if isEval(ev.mb) {
		return w.evaluate(ev)
	}
	targets := boundary.IDs(w.cfg.Data.At(ev.mb).Targets, 0, w.cfg.Rows, w.spec.SeqLen)
	var dIn *tensors.Tensor
	var err error
	var up *replay.Update
	if w.applied[ev.mb] || ev.elsewhere {
		_, dIn, _, err = w.st.Gradients(ev.in, ev.ids, targets)
		w.metrics.repeats.Inc()
		w.repeats++
	} else {
		var loss float64
		var tap *engine.Tap
		if w.tapDue() {
			if err = w.stepStart(); err != nil {
				return err
			}
			dIn, loss, tap, err = w.st.BackwardLossTap(ev.in, ev.ids, targets)
		} else {
			dIn, loss, err = w.st.BackwardLoss(ev.in, ev.ids, targets)
		}
		if err == nil {
			w.took(tap, ev.mb, ev.input, nil)
			up = w.update(ev.step, ev.mb, ev.input, ev.ids, nil, targets, tap)
			w.applied[ev.mb] = true
			w.markSeen(ev.mb)
			w.counted()
			w.metrics.loss.Set(loss)
			w.statusMu.Lock()
			w.status.Loss = loss
			w.statusMu.Unlock()
			if w.cfg.OnLoss != nil {
				w.cfg.OnLoss(Loss{Microbatch: ev.mb, Step: ev.step, Loss: loss})
			}
		}
	}
	if err != nil {
		return fmt.Errorf("swarm: last stage, microbatch %d: %w", ev.mb, err)
	}
	if err := w.sendGradients(ev.from, ev.step, ev.mb, dIn, up); err != nil {
		return err
	}
	return w.stepEnd()
}

// evaluate takes an evaluation microbatch's loss (no update, nothing sent
// back) and reports the round once all its batches are in.
func (w *Worker) evaluate(ev *event) error {
	key, round, k := evalParts(ev.mb)
	if k >= len(w.cfg.Eval) {
		w.log.Warn("evaluation microbatch of an unknown batch; dropped", "mb", ev.mb, "batch", k, "batches", len(w.cfg.Eval))
		return nil
	}
	loss, err := w.st.Loss(ev.in, ev.ids, boundary.IDs(w.cfg.Eval[k].Targets, 0, w.cfg.Rows, w.spec.SeqLen))
	if err != nil {
		return fmt.Errorf("swarm: last stage, evaluation microbatch %d: %w", ev.mb, err)
	}
	w.evalSum[key] += loss
	w.evalN[key]++
	if w.evalN[key] == len(w.cfg.Eval) {
		mean := w.evalSum[key] / float64(len(w.cfg.Eval))
		delete(w.evalSum, key)
		delete(w.evalN, key)
		w.metrics.valLoss.Set(mean)
		if w.cfg.OnEval != nil {
			w.cfg.OnEval(Eval{Round: round, Step: ev.step, Loss: mean})
		}
	}
	return nil
}

// sendGradients sends dIn back to the stage before; up, when this was an update, is handed to
// OnUpdate with the digest of what was sent.
func (w *Worker) sendGradients(to peer.ID, step, mb uint64, dIn *tensors.Tensor, up *replay.Update) error {
	msg, err := w.codec.EncodeGradients(dIn, step, uint32(mb))
	if err != nil {
		return fmt.Errorf("swarm: stage %d microbatch %d: encoding gradients: %w", w.stage, mb, err)
	}
	d, err := w.digestOf(msg)
	if err == nil {
		msg, err = w.equivocated(msg)
	}
	if err != nil {
		return fmt.Errorf("swarm: stage %d microbatch %d: %w", w.stage, mb, err)
	}
	seq := w.number(d, up)
	if up != nil {
		w.cfg.OnUpdate(*up)
	}
	w.send(to, &wire.Frame{Type: wire.Gradients, Model: w.cfg.Model, Stage: uint32(w.stage - 1), Step: step, Microbatch: mb, Seq: seq, Body: msg})
	return nil
}

// equivocated is msg as a worker with Config.CheatEquivocate sends it: its values ten times
// larger (a payload still well formed), after number logged msg itself.
func (w *Worker) equivocated(msg []byte) ([]byte, error) {
	if !w.cfg.CheatEquivocate {
		return msg, nil
	}
	p, err := payload.Decode(msg, payload.Limits{})
	if err != nil {
		return nil, err
	}
	for i := range p.Data {
		p.Data[i] *= 10
	}
	return payload.Encode(p)
}

// digestOf is msg's payload.Digest where updates are logged (OnUpdate; zero elsewhere): what
// number records it by.
func (w *Worker) digestOf(msg []byte) ([32]byte, error) {
	if w.cfg.OnUpdate == nil {
		return [32]byte{}, nil
	}
	return payload.Digest(msg)
}

// number gives a payload of digest d, about to be signed, the worker's next send number
// (types.Receipt Seq: strictly increasing, and the wall clock's microseconds where that is
// higher, so near the clock, as receivers with Config.MaxSendSkew demand, and above what an
// earlier process gave) and, where updates are logged (OnUpdate), records it: as up's own (the
// gradient an update sends back) or among the sends the next update logs
// (logevent.Update.Sends). So every payload a worker signs is in its log. A re-send gets a new
// number once its last one is stale (sendNumber), so that a frame's number is near its sending.
func (w *Worker) number(d [32]byte, up *replay.Update) uint64 {
	w.seq = max(w.seq+1, w.cfg.FirstSeq, uint64(max(w.now().UnixMicro(), 0)))
	switch {
	case up != nil:
		up.Seq, up.Sent = w.seq, d
		up.Sends, w.sends = w.sends, nil
	case w.cfg.OnUpdate != nil:
		w.sends = append(w.sends, logevent.Send{Seq: w.seq, Digest: d})
	}
	return w.seq
}

// update is the record of an update OnUpdate will receive (nil when it is not set): its frame
// step and microbatch, the payload it took in (stage 0: its token ids) and the gradient payload
// that came back (the last stage: its targets), and, when it opened one of the worker's steps
// (tapped) with Config.StateRoots, the state root before it.
func (w *Worker) update(step, mb uint64, in *Input, ids *tensors.Tensor, grad *Input, targets *tensors.Tensor, tap *engine.Tap) *replay.Update {
	if w.cfg.OnUpdate == nil {
		return nil
	}
	u := &replay.Update{Step: step, Microbatch: mb}
	if tap != nil && w.cfg.StateRoots {
		u.Root = w.startRoot
	}
	if in != nil {
		u.Input = in.Payload
	}
	if w.first {
		u.Tokens = tensors.MustCopyFlatData[int32](ids)
	}
	if grad != nil {
		u.Grad = grad.Payload
	}
	if targets != nil {
		u.Targets = tensors.MustCopyFlatData[int32](targets)
	}
	return u
}

// backward runs the backward of a microbatch whose gradient came back.
func (w *Worker) backward(ev *event) error {
	defer w.updateStatus()
	p := w.pending[ev.mb]
	if p == nil {
		w.metrics.late.Inc()
		w.late++
		w.log.Debug("gradient of a microbatch not outstanding; dropped", "mb", ev.mb, "from", ev.from)
		return nil
	}
	delete(w.pending, ev.mb)
	w.blacklist.succeeded(ev.from)
	var dIn *tensors.Tensor
	var err error
	var up *replay.Update
	if w.applied[ev.mb] || p.elsewhere {
		_, dIn, _, err = w.st.Gradients(p.in, p.ids, ev.dOut)
		w.metrics.repeats.Inc()
		w.repeats++
	} else {
		var tap *engine.Tap
		if w.tapDue() {
			if err = w.stepStart(); err != nil {
				return err
			}
			dIn, tap, err = w.st.BackwardTap(p.in, p.ids, ev.dOut)
		} else {
			dIn, err = w.st.Backward(p.in, p.ids, ev.dOut)
		}
		if err == nil {
			in, grad := p.input, ev.input
			if w.first {
				in, grad = ev.input, nil // stage 0's input is the dataset: what stage 1 signed is the gradient
			}
			w.took(tap, ev.mb, in, grad)
			up = w.update(p.step, ev.mb, p.input, p.ids, ev.input, nil, tap)
			w.applied[ev.mb] = true
			w.counted()
		}
	}
	if err != nil {
		return fmt.Errorf("swarm: stage %d backward of microbatch %d: %w", w.stage, ev.mb, err)
	}
	if w.first {
		if up != nil {
			up.Sends, w.sends = w.sends, nil
			w.cfg.OnUpdate(*up) // stage 0 sends nothing back
		}
		if err := w.stepEnd(); err != nil {
			return err
		}
		w.completed++
		w.metrics.completed.Inc()
		if w.cfg.OnDone != nil {
			w.cfg.OnDone(ev.mb)
		}
		return nil
	}
	if err := w.sendGradients(p.from, p.step, ev.mb, dIn, up); err != nil {
		return err
	}
	return w.stepEnd()
}

// tapDue says whether the next update is the first of one of this worker's steps and a tap is
// wanted.
func (w *Worker) tapDue() bool {
	return w.cfg.OnTap != nil && w.updates%uint64(w.cfg.Microbatches) == 0
}

// stepStart runs before the first update of a step: with Config.StateRoots it takes the root of
// the stage's state, where the step starts.
func (w *Worker) stepStart() error {
	if !w.cfg.StateRoots {
		return nil
	}
	step := w.updates / uint64(w.cfg.Microbatches)
	if w.ended && w.cfg.LogHead != nil && w.cfg.LogHead() == w.endHead {
		w.startRoot, w.startHead = w.endRoot, w.endHead // nothing changed the state since
	} else {
		r, err := checkpoint.StateRoot(w.st)
		if err != nil {
			return fmt.Errorf("swarm: stage %d: the state root before step %d: %w", w.stage, step, err)
		}
		w.startRoot = r
		if w.cfg.LogHead != nil {
			w.startHead = w.cfg.LogHead()
		}
	}
	if w.cfg.OnStepStart != nil {
		w.cfg.OnStepStart(step, w.startRoot, w.startHead)
	}
	return nil
}

// took records an update on microbatch mb, whose input came with receipt in (and on a middle
// stage whose gradient came back with receipt grad), before the update is counted: the first
// update of a step opens it with its tap, the last hands the step, with the receipts of all its
// microbatches, to OnTap. A step cut short (training ends, or the worker started mid-step) is
// never handed over: the chain pays only whole steps.
func (w *Worker) took(t *engine.Tap, mb uint64, in, grad *Input) {
	if w.cfg.OnTap == nil {
		return
	}
	m := uint64(w.cfg.Microbatches)
	switch pos := w.updates % m; {
	case pos == 0 && t != nil:
		w.step = &Step{Step: w.updates / m, Tap: t, Microbatch: mb, Draw: w.drawOf[mb], Input: in, Grad: grad.withoutPayload(), StateRoot: w.startRoot, LogHead: w.startHead}
	case w.step != nil:
		w.step.Others = append(w.step.Others, Taken{Microbatch: mb, Draw: w.drawOf[mb], Input: in.withoutPayload(), Grad: grad.withoutPayload()})
	}
	delete(w.drawOf, mb) // applied once: its draw is spent
	if w.updates%m == m-1 && w.step != nil {
		w.ending, w.step = w.step, nil // handed over once the update is logged: stepEnd
	}
}

// stepEnd hands the step whose last update was just applied and logged to OnTap, with the state
// root and log head after it (Config.StateRoots).
func (w *Worker) stepEnd() error {
	s := w.ending
	if s == nil {
		return nil
	}
	w.ending = nil
	if w.cfg.StateRoots {
		r, err := checkpoint.StateRoot(w.st)
		if err != nil {
			return fmt.Errorf("swarm: stage %d: the state root after step %d: %w", w.stage, s.Step, err)
		}
		s.EndRoot = r
		if w.cfg.LogHead != nil {
			s.EndHead = w.cfg.LogHead()
		}
		w.endRoot, w.endHead, w.ended = s.EndRoot, s.EndHead, true
	}
	w.cfg.OnTap(*s)
	return nil
}

// counted counts an update of the stage's weights: one microbatch of rows × seq_len tokens.
func (w *Worker) counted() {
	w.updates++
	w.opsWindow++
	w.metrics.backwards.Inc()
	w.metrics.tokens.Add(float64(w.cfg.Rows * w.st.Spec().SeqLen))
}
