package types

import (
	"context"
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/protolearn/protolearn/logevent"
)

// ProvenanceChain is what judging an average's provenance needs of the chain.
type ProvenanceChain interface {
	// WorkerByPeer is the operator of the worker whose peer id is p, or was before it changed
	// it (ok false: none).
	WorkerByPeer(ctx context.Context, p string) (operator string, ok bool, err error)
	// HeldStage is the stage operator has ever held of the model, and its first seat's height.
	HeldStage(ctx context.Context, modelID uint64, operator string) (stage uint32, firstHeight int64, ok bool, err error)
}

// AverageProvenance is why avg, an average in attestation a's range, mixed in weights of the
// worker's own choosing ("" when it did not): the rule the chain judges a revealed average by
// (x/verify keeper) and the trainers' Prosecutor checks before steering a dispute onto one. The
// mix must be with a replica's parameters, signed (logevent.StateMessage, their root) by the
// registered peer of a worker other than a's that held a seat of a's stage before a was
// submitted. Judged as of the attestation, not of the reveal: x/models keeps the stage an
// operator held for good, so a signer that leaves the stage afterwards cannot turn an honest
// mix into a loss for the worker that made it.
func AverageProvenance(ctx context.Context, c ProvenanceChain, a Attestation, avg *logevent.Average) (string, error) {
	if avg.Sel != logevent.SelectionParams {
		return fmt.Sprintf("with a state of selection %d, not a replica's parameters", avg.Sel), nil
	}
	from, err := peer.IDFromBytes(avg.From)
	if err != nil {
		return "with parameters from no valid peer id", nil
	}
	pub, err := from.ExtractPublicKey()
	if err != nil {
		return fmt.Sprintf("with parameters from peer %s, whose id holds no public key", from), nil
	}
	if ok, err := pub.Verify(logevent.StateMessage(a.ModelId, a.Stage, avg.Sel, avg.ParamsDigest, avg.Root), avg.Sig); err != nil || !ok {
		return fmt.Sprintf("with parameters peer %s did not sign (model %d, stage %d, their root)", from, a.ModelId, a.Stage), nil
	}
	op, ok, err := c.WorkerByPeer(ctx, from.String())
	if err != nil {
		return "", err
	}
	if !ok {
		return fmt.Sprintf("with parameters signed by peer %s, which no registered worker holds", from), nil
	}
	if op == a.Worker {
		// Its own signature vouches for nothing: that would be weights of its own choosing.
		return "with parameters it signed itself", nil
	}
	stage, first, held, err := c.HeldStage(ctx, a.ModelId, op)
	if err != nil {
		return "", err
	}
	if !held || stage != a.Stage || first > a.SubmittedHeight {
		return fmt.Sprintf("with parameters signed by %s, no replica of stage %d before the attestation", op, a.Stage), nil
	}
	return "", nil
}
