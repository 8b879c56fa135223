// Package replay re-executes a stage's updates from the state before them: the heart of
// refereed re-execution (x/verify/README.md, "Every layer: refereed re-execution"). A stage's
// update is a deterministic function of its state and of what its neighbours sent it (the
// engine's backward recomputes the forward from the input, and applies the optimizer in the
// same graph), so a replica of the stage that holds the state a worker started from and the
// inputs the worker took in (all signed by the neighbours that sent them) can apply the same
// updates and must reach the same state root and send back the same gradients, bit for bit on
// the same backend (the Go backend is deterministic: TestReplayIsExact). Whatever a worker
// skipped or shrank, in any layer, forward or backward, or an optimizer step it did not take,
// shows as a different state root or a different gradient sent back.
package replay

import (
	"errors"
	"fmt"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/protolearn/protolearn/logevent"
	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/trainer/boundary"
	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/engine"
)

// Update is one update a worker applied, as its replay log records it (package logevent, which
// the chain links to decode the update a dispute narrows to).
type Update = logevent.Update

// Result is what a replay produced.
type Result struct {
	// Sent are the digests of the gradient payloads the replay would send back, one per update
	// (zero on stage 0).
	Sent [][32]byte
	// Root is the state root (checkpoint.StateRoot) after the last update.
	Root [32]byte
}

// Run applies updates to st in order, as the swarm applies them: the boundary codec's decoding,
// the engine's Backward (BackwardLoss on the last stage), the codec's encoding of the gradient
// sent back. st must hold the state the worker started from.
func Run(st *engine.Stage, codec boundary.Codec, updates []Update) (Result, error) {
	var res Result
	for i, u := range updates {
		sent, err := Apply(st, codec, u)
		if err != nil {
			return Result{}, fmt.Errorf("replay: update %d (microbatch %d): %w", i, u.Microbatch, err)
		}
		res.Sent = append(res.Sent, sent)
	}
	root, err := checkpoint.StateRoot(st)
	if err != nil {
		return Result{}, err
	}
	res.Root = root
	return res, nil
}

// Inputs are the tensors an update feeds a stage's backward pass, decoded as the swarm decodes
// them: the stage's input (on stage 0 the token ids), the token ids where the stage needs them,
// and the gradient that came back or, on the last stage, the targets.
type Inputs struct {
	In, IDs, DOut, Targets *tensors.Tensor
	// Rows is the microbatch's number of sequences.
	Rows int
}

// Decode decodes u's inputs for st.
func Decode(st *engine.Stage, codec boundary.Codec, u Update) (Inputs, error) {
	info, seq := st.Info(), st.Spec().SeqLen
	var x Inputs
	if info.First {
		if len(u.Tokens) == 0 || len(u.Tokens)%seq != 0 {
			return Inputs{}, fmt.Errorf("%d token ids, not rows of %d", len(u.Tokens), seq)
		}
		x.Rows = len(u.Tokens) / seq
		x.In = boundary.IDs(u.Tokens, 0, x.Rows, seq)
		x.IDs = x.In
	} else {
		sh, err := payload.PeekShape(u.Input)
		if err != nil {
			return Inputs{}, fmt.Errorf("input: %w", err)
		}
		x.Rows = int(sh.Batch)
		if _, x.In, x.IDs, err = codec.DecodeActivations(u.Input, x.Rows, seq); err != nil {
			return Inputs{}, fmt.Errorf("input: %w", err)
		}
	}
	if info.Last {
		if len(u.Targets) != x.Rows*seq {
			return Inputs{}, fmt.Errorf("%d targets for %d × %d tokens", len(u.Targets), x.Rows, seq)
		}
		x.Targets = boundary.IDs(u.Targets, 0, x.Rows, seq)
		return x, nil
	}
	if u.Grad == nil {
		return Inputs{}, errors.New("no gradient payload from the stage after")
	}
	var err error
	if _, x.DOut, err = codec.DecodeGradients(u.Grad, x.Rows, seq); err != nil {
		return Inputs{}, fmt.Errorf("gradient: %w", err)
	}
	return x, nil
}

// Apply applies one update to st as the swarm does and returns the digest of the gradient
// payload it would send back (zero on stage 0).
func Apply(st *engine.Stage, codec boundary.Codec, u Update) ([32]byte, error) {
	msg, err := ApplySent(st, codec, u)
	if err != nil || msg == nil {
		return [32]byte{}, err
	}
	return payload.Digest(msg)
}

// ApplySent is Apply returning the gradient payload itself (nil on stage 0): what a worker
// shows the chain in a dispute over the gradient it sent back.
func ApplySent(st *engine.Stage, codec boundary.Codec, u Update) ([]byte, error) {
	x, err := Decode(st, codec, u)
	if err != nil {
		return nil, err
	}
	var dIn *tensors.Tensor
	if st.Info().Last {
		if dIn, _, err = st.BackwardLoss(x.In, x.IDs, x.Targets); err != nil {
			return nil, err
		}
	} else if dIn, err = st.Backward(x.In, x.IDs, x.DOut); err != nil {
		return nil, err
	}
	if st.Info().First {
		return nil, nil
	}
	return codec.EncodeGradients(dIn, u.Step, uint32(u.Microbatch))
}

// Mismatch is where a replay departs from what a worker did.
type Mismatch struct {
	// Update is the first update whose gradient sent back differs (−1: none did).
	Update int
	// Root says the state roots differ after the last update.
	Root bool
}

func (m Mismatch) String() string {
	switch {
	case m.Update >= 0 && m.Root:
		return fmt.Sprintf("the gradient sent back for update %d and the state root differ", m.Update)
	case m.Update >= 0:
		return fmt.Sprintf("the gradient sent back for update %d differs", m.Update)
	case m.Root:
		return "the state root differs"
	}
	return "no mismatch"
}

// Check replays updates on st (holding the worker's starting state) and compares the gradients
// sent back with the digests the worker signed (Update.Sent) and the end state with root, the
// one it committed. ok is true when everything matches.
func Check(st *engine.Stage, codec boundary.Codec, updates []Update, root [32]byte) (m Mismatch, ok bool, err error) {
	res, err := Run(st, codec, updates)
	if err != nil {
		return Mismatch{}, false, err
	}
	m = Mismatch{Update: -1, Root: res.Root != root}
	for i, d := range res.Sent {
		if d != updates[i].Sent {
			m.Update = i
			break
		}
	}
	return m, m.Update < 0 && !m.Root, nil
}
