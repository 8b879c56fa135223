package swarm

import (
	"fmt"
	"math"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	cryptopb "github.com/libp2p/go-libp2p/core/crypto/pb"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/trainer/engine"
	"github.com/protolearn/protolearn/trainer/wire"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// Every tensor frame is signed by its sender over its receipt (verifytypes.Receipt): the
// receiver checks the signature before it decodes the payload (the digest reads the encoding
// without decoding it: payload.Digest), and a peer whose signature
// does not verify is cut off like any other hostile peer. The receiver so holds, for every
// input it trains on, its sender's signed word that it sent exactly this payload: evidence
// that x/verify can weigh, and that binds the sender to what it sent.

// Input is the signed receipt of the boundary tensor a microbatch came in as: what an attesting
// worker shows the chain for the step whose designated layer that microbatch fed.
type Input struct {
	Receipt verifytypes.Receipt
	Sig     []byte
	// Payload is the encoding the receipt's digest names, kept for the attester (which derives
	// the designated layer's input from it and opens a token of it when challenged).
	Payload []byte
}

// Step is one of this worker's steps, whole: what the chain pays for (x/verify counts a step
// only with Microbatches distinct inputs a neighbour signed).
type Step struct {
	// Step is the worker's local step number.
	Step uint64
	// Tap is the designated layer of the step's first update, on microbatch Microbatch (on
	// stage 0, the draw whose dataset windows it holds), whose input came with receipt Input:
	// the activations the stage before sent, or on stage 0 the gradient stage 1 sent back
	// (nil on a one-stage model).
	Tap        *engine.Tap
	Microbatch uint64
	// Draw is, on stage 0 with Config.Draw set, the microbatch's index in the worker's
	// sequence of draws.
	Draw  uint64
	Input *Input
	// Grad is, on a stage between the first and the last, the receipt of the gradient the
	// stage after sent back for the designated microbatch (nil elsewhere).
	Grad *Input
	// Others are the step's other updates, in order.
	Others []Taken
	// StateRoot is, with Config.StateRoots, the root of the stage's state before the step's
	// first update; LogHead, with Config.LogHead set too, the replay log's head there.
	StateRoot, LogHead [32]byte
	// EndRoot and EndHead are the same after the step's last update (and its log record): an
	// attestation of steps a..b runs from a's start to b's end (x/verify end_state_root).
	EndRoot, EndHead [32]byte
}

// Taken is one update of a step beside the designated one: its microbatch and the receipts of
// its input and (on a middle stage) its gradient, without their payloads (only the designated
// layer derives from one).
type Taken struct {
	Microbatch, Draw uint64
	Input, Grad      *Input
}

// withoutPayload is in without its payload bytes (nil for nil).
func (in *Input) withoutPayload() *Input {
	if in == nil {
		return nil
	}
	return &Input{Receipt: in.Receipt, Sig: in.Sig}
}

// identityKey is the host's own key, which signs receipts: it must be Ed25519 (trainer/p2p's
// keys are), whose peer ids embed the public key a verifier needs.
func identityKey(w *Worker) (crypto.PrivKey, error) {
	k := w.cfg.Host.Peerstore().PrivKey(w.cfg.Host.ID())
	if k == nil {
		return nil, fmt.Errorf("swarm: the host %s has no private key in its peerstore to sign receipts with", w.cfg.Host.ID())
	}
	if k.Type() != cryptopb.KeyType_Ed25519 {
		return nil, fmt.Errorf("swarm: the host's identity is a %v key; boundary receipts need Ed25519 (trainer/p2p.LoadOrCreateKey)", k.Type())
	}
	return k, nil
}

// receipt is the receipt of tensor frame f sent by sender to receiver. Its digest is the
// payload's (payload.Digest: one token of it can be opened on chain); a body that is not a
// well-formed payload has none, and the error says why (the receipt is still filled, with a
// zero digest, for the log).
func (w *Worker) receipt(f *wire.Frame, sender, receiver peer.ID) (verifytypes.Receipt, error) {
	dir := verifytypes.Forward
	if f.Type == wire.Gradients {
		dir = verifytypes.Backward
	}
	r := verifytypes.Receipt{
		ChainID: w.cfg.ChainID, Model: f.Model, Direction: dir, ToStage: f.Stage, Step: f.Step, Microbatch: f.Microbatch,
		Seq: f.Seq, Sender: sender, Receiver: receiver,
	}
	var err error
	r.Digest, err = payload.Digest(f.Body)
	return r, err
}

// signed is f signed for receiver: a copy, since a frame that fails is re-sent to another
// replica under another signature.
func (w *Worker) signed(f *wire.Frame, receiver peer.ID) (*wire.Frame, error) {
	r, err := w.receipt(f, w.cfg.Host.ID(), receiver)
	if err != nil {
		return nil, fmt.Errorf("swarm: signing %v of microbatch %d: %w", f.Type, f.Microbatch, err)
	}
	sig, err := verifytypes.SignReceipt(w.key, r)
	if err != nil {
		return nil, err
	}
	sf := *f
	sf.Sig = sig
	return &sf, nil
}

// checkReceipt verifies the signature of tensor frame f from p; it returns the receipt, or
// the reason to cut p off.
func (w *Worker) checkReceipt(p peer.ID, f *wire.Frame) (verifytypes.Receipt, string) {
	// The header's shape first: a digest costs a hash a token, and a hostile sender's header
	// could declare millions of tokens the stage never expects.
	err := w.codec.CheckHeader(f.Body, f.Type == wire.Gradients, w.cfg.Rows, w.spec.SeqLen)
	var r verifytypes.Receipt
	if err == nil {
		r, err = w.receipt(f, p, w.cfg.Host.ID())
	}
	if err == nil {
		err = verifytypes.VerifyReceipt(r, f.Sig)
	}
	if err == nil {
		err = w.checkSkew(f.Seq)
	}
	if err != nil {
		w.metrics.badReceipts.Inc()
		return r, fmt.Sprintf("%v of microbatch %d: %v", f.Type, f.Microbatch, err)
	}
	return r, ""
}

// checkSkew refuses a send number further than Config.MaxSendSkew from this worker's clock.
func (w *Worker) checkSkew(seq uint64) error {
	if w.cfg.MaxSendSkew <= 0 {
		return nil
	}
	now := w.now().UnixMicro()
	off := time.Duration(int64(seq)-now) * time.Microsecond
	if seq > math.MaxInt64 || off > w.cfg.MaxSendSkew || off < -w.cfg.MaxSendSkew {
		return fmt.Errorf("send number %d is %v from this worker's clock, beyond %v: the sender's clock is off, or it numbers payloads outside its log", seq, off.Round(time.Millisecond), w.cfg.MaxSendSkew)
	}
	return nil
}
