package types

import (
	"encoding/binary"
	"strings"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"

	"github.com/protolearn/protolearn/circuits/commit"
	"github.com/protolearn/protolearn/circuits/tile"
)

// Domains of the two tags a proof is bound to (circuits/tile Binding).
const (
	stepTagDomain      = "protolearn/verify/step-tag/v1"
	challengeTagDomain = "protolearn/verify/challenge/v1"
)

// StepTag is the tag every root of one attested step is bound to: the chain, the model, the
// stage, the worker (its operator address as stored) and the step. The trainer computes it when
// it commits, and the chain again when it checks a proof, so roots committed for one (chain,
// model, stage, worker, step) cannot be opened for any other: a worker copying another's roots,
// or reusing its own at another step, has no proof for them.
//
// worker is the bech32 address; it is lower-cased first, its canonical form (bech32 may be
// written upper-case), so both sides hash the same text.
func StepTag(chainID string, modelID uint64, stage uint32, worker string, step uint64) fr.Element {
	var b []byte
	b = appendString(b, chainID)
	b = binary.BigEndian.AppendUint64(b, modelID)
	b = binary.BigEndian.AppendUint32(b, stage)
	b = appendString(b, strings.ToLower(worker))
	b = binary.BigEndian.AppendUint64(b, step)
	return commit.HashToField(stepTagDomain, b)
}

// ChallengeTag digests everything that names one challenge: its id, its attestation, kind,
// step, row, column block and tile shape. The chain takes these from its own store.
func ChallengeTag(c Challenge) fr.Element {
	var b []byte
	b = binary.BigEndian.AppendUint64(b, c.Id)
	b = binary.BigEndian.AppendUint64(b, c.AttestationId)
	b = binary.BigEndian.AppendUint32(b, uint32(c.Kind))
	b = binary.BigEndian.AppendUint64(b, c.Step)
	b = binary.BigEndian.AppendUint32(b, c.Row)
	b = binary.BigEndian.AppendUint32(b, c.Col)
	b = appendString(b, c.Shape)
	return commit.HashToField(challengeTagDomain, b)
}

// ChainIDOr is the chain the attestation was submitted to, or current where it does not say
// (records from before chain ids were kept).
func (a Attestation) ChainIDOr(current string) string {
	if a.ChainId != "" {
		return a.ChainId
	}
	return current
}

// ChallengeBinding is what a proof for challenge c of attestation a must be bound to on chain
// chainID: the step tag of (a's model, stage and worker, c's step) and c's digest.
func ChallengeBinding(chainID string, a Attestation, c Challenge) tile.Binding {
	return tile.Binding{
		Step:      StepTag(chainID, a.ModelId, a.Stage, a.Worker, c.Step),
		Challenge: ChallengeTag(c),
	}
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}
