// Package logevent is a worker's replay log as the chain sees it (x/verify/README.md, "the
// dispute game"): the encoding of each event that changes a stage's state (an update with what
// went into it, or an average with a replica's parameters), and the log's head, the SHA-256 hash
// chain over the whole log that every attestation commits (log_head). trainer/replaylog writes
// and serves the log; the chain decodes the one event a dispute narrows to and checks that it
// folds the agreed head into the disputed one. It imports nothing of the trainer's engine, so
// the chain links it.
//
// # Bytes
//
//	update  0x01, step, microbatch (uint64 each), input, tokens, grad, targets, sent [32], root [32]
//	average 0x02, weight (float64 bits), selection (1 byte), root [32], parameters, from, signature
//	claim   0x03, weight (float64 bits), selection (1 byte), root [32], SHA-256 of the parameters [32], from, signature
//
// An average's digest, what the head folds, is the SHA-256 of its claim, not of its own
// encoding: the claim names the parameters by their SHA-256 and their statecommit root, which
// the replica signed (StateMessage), so the chain checks the fold, the signature and any chunk
// of the mix without the whole parameters (a stage's, megabytes at scale).
//
// Integers are little-endian; byte strings are a uint64 length and the bytes; token ids and
// targets a uint64 count and that many int32. Decoding bounds every length by what is left.
package logevent

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// Event kinds, the first byte of an event's encoding.
const (
	KindUpdate  = 1
	KindAverage = 2
	// KindAverageClaim is an average as the chain takes it (EncodeAverageClaim).
	KindAverageClaim = 3
)

// The checkpoint selections a replica serves (trainer/checkpoint.Selection): its whole state,
// or its trainable parameters (what an average mixes in).
const (
	SelectionFull   = 0
	SelectionParams = 1
)

// Update is one update a worker applied: everything a replica needs to apply it again, and the
// digest of what it sent back, which the neighbour that received it holds a signature over.
type Update struct {
	// Step and Microbatch are the frames' numbering (the gradient payload sent back carries
	// them).
	Step, Microbatch uint64
	// Input is the activations payload the stage before sent (nil on stage 0); Tokens are stage
	// 0's token ids (rows × seq_len).
	Input  []byte
	Tokens []int32
	// Grad is the gradients payload the stage after sent back (nil on the last stage); Targets
	// are the last stage's targets (rows × seq_len).
	Grad    []byte
	Targets []int32
	// Sent is the digest (payload.Digest) of the gradients payload the worker sent back (zero
	// on stage 0, which sends none).
	Sent [32]byte
	// Root is the state root (checkpoint.StateRoot) before the update where the worker took
	// one: before the first update of each of its steps (swarm Config.StateRoots), what an
	// attestation starting with that step names. Zero elsewhere.
	Root [32]byte
	// Seq is the worker's number for the gradient payload it sent back (Sent; 0 where it sent
	// none), signed in its receipt (x/verify types.Receipt.Seq). Sends are the payloads it
	// signed since its previous update, in order: the activations it sent forward, a
	// gradient recomputed without an update for a microbatch re-sent after a failure. So every
	// payload a worker signs is in its log, with its number, in the first update after it.
	Seq   uint64
	Sends []Send
}

// Send is a payload a worker signed: its number (types.Receipt.Seq) and its payload.Digest.
type Send struct {
	Seq    uint64
	Digest [32]byte
}

// Signed is everything u says its worker signed, in order: Sends, then the gradient it sent
// back (where it sent one).
func (u *Update) Signed() []Send {
	out := append([]Send(nil), u.Sends...)
	if u.Sent != ([32]byte{}) {
		out = append(out, Send{Seq: u.Seq, Digest: u.Sent})
	}
	return out
}

// Average is a mix of the stage's trainable parameters with a replica's:
// (1 − Weight)·own + Weight·theirs (checkpoint.Average, value by value with Mix).
type Average struct {
	Weight float64
	// Sel is the checkpoint selection the replica served (checkpoint.Params), Root the
	// statecommit root of the parameters it served (checkpoint.WeightsRoot of its stage).
	Sel  uint8
	Root [32]byte
	// Params is the replica's parameters as received (a checkpoint stream), From its libp2p
	// peer id (bytes) and Sig its signature over StateMessage: a referee, and the chain, check
	// the mix was with a replica of the stage, not parameters of the worker's choosing. Params
	// is nil in an average decoded from its claim; ParamsDigest is their SHA-256 either way.
	Params, From, Sig []byte
	ParamsDigest      [32]byte
}

// StateMessage is what a replica signs over a state it serves (trainer/statesync): the domain,
// the model, the stage, the checkpoint selection, the SHA-256 of the checkpoint stream and the
// statecommit root of its tensors.
func StateMessage(model uint64, stage uint32, sel uint8, digest, root [32]byte) []byte {
	b := append([]byte("protolearn/state/v2"), 0)
	b = binary.BigEndian.AppendUint64(b, model)
	b = binary.BigEndian.AppendUint32(b, stage)
	b = append(b, sel)
	b = append(b, digest[:]...)
	return append(b, root[:]...)
}

// Mix is one value of an average, (1 − weight)·own + weight·theirs rounded to float32, with
// each product rounded to float64 on its own (explicit conversions: no fused multiply-add on
// any platform, so every validator computes the same bits).
func Mix(own, theirs float32, weight float64) float32 {
	a := float64((1 - weight) * float64(own))
	b := float64(weight * float64(theirs))
	return float32(a + b)
}

// Event is one change of the stage's state: exactly one of Update and Average is set.
type Event struct {
	Update  *Update
	Average *Average
	// Digest is the SHA-256 of the event's encoding, what the log's head folds in (Next).
	Digest [32]byte
}

// EncodeUpdate is u's encoding.
func EncodeUpdate(u Update) []byte {
	var b bytes.Buffer
	b.WriteByte(KindUpdate)
	PutU64(&b, u.Step)
	PutU64(&b, u.Microbatch)
	PutBytes(&b, u.Input)
	putInts(&b, u.Tokens)
	PutBytes(&b, u.Grad)
	putInts(&b, u.Targets)
	b.Write(u.Sent[:])
	b.Write(u.Root[:])
	PutU64(&b, u.Seq)
	PutU64(&b, uint64(len(u.Sends)))
	for _, s := range u.Sends {
		PutU64(&b, s.Seq)
		b.Write(s.Digest[:])
	}
	return b.Bytes()
}

// EncodeAverage is a's encoding (the log's).
func EncodeAverage(a Average) []byte {
	var b bytes.Buffer
	b.WriteByte(KindAverage)
	PutU64(&b, math.Float64bits(a.Weight))
	b.WriteByte(a.Sel)
	b.Write(a.Root[:])
	PutBytes(&b, a.Params)
	PutBytes(&b, a.From)
	PutBytes(&b, a.Sig)
	return b.Bytes()
}

// EncodeAverageClaim is a's claim: what its digest is the SHA-256 of, and what a worker shows
// the chain for it. a.ParamsDigest must be set (Read sets it).
func EncodeAverageClaim(a Average) []byte {
	var b bytes.Buffer
	b.WriteByte(KindAverageClaim)
	PutU64(&b, math.Float64bits(a.Weight))
	b.WriteByte(a.Sel)
	b.Write(a.Root[:])
	b.Write(a.ParamsDigest[:])
	PutBytes(&b, a.From)
	PutBytes(&b, a.Sig)
	return b.Bytes()
}

// Read decodes the event at the start of b and returns it with the number of bytes it took.
func Read(b []byte) (Event, int, error) {
	r := &Reader{b: b}
	var ev Event
	switch kind := r.Next(1); {
	case r.err != nil:
	case kind[0] == KindUpdate:
		u := &Update{Step: r.U64(), Microbatch: r.U64()}
		u.Input, u.Tokens, u.Grad, u.Targets = r.Bytes(), r.Ints(), r.Bytes(), r.Ints()
		copy(u.Sent[:], r.Next(32))
		copy(u.Root[:], r.Next(32))
		u.Seq = r.U64()
		if n := r.U64(); n > uint64(len(b)-r.off)/40 {
			r.Fail(io.ErrUnexpectedEOF)
		} else if n > 0 {
			u.Sends = make([]Send, n)
			for i := range u.Sends {
				u.Sends[i].Seq = r.U64()
				copy(u.Sends[i].Digest[:], r.Next(32))
			}
		}
		ev.Update = u
	case kind[0] == KindAverage || kind[0] == KindAverageClaim:
		a := &Average{Weight: math.Float64frombits(r.U64())}
		if sel := r.Next(1); sel != nil {
			a.Sel = sel[0]
		}
		copy(a.Root[:], r.Next(32))
		if kind[0] == KindAverage {
			a.Params = r.Bytes()
			a.ParamsDigest = sha256.Sum256(a.Params)
		} else {
			copy(a.ParamsDigest[:], r.Next(32))
		}
		a.From, a.Sig = r.Bytes(), r.Bytes()
		if !(a.Weight >= 0 && a.Weight <= 1) && r.err == nil {
			r.err = fmt.Errorf("averaging weight %v", a.Weight)
		}
		ev.Average = a
	default:
		r.err = fmt.Errorf("unknown event kind %d", kind[0])
	}
	if r.err != nil {
		return Event{}, r.off, fmt.Errorf("logevent: event at byte %d of %d: %w", r.off, len(b), r.err)
	}
	if ev.Average != nil {
		ev.Digest = sha256.Sum256(EncodeAverageClaim(*ev.Average))
	} else {
		ev.Digest = sha256.Sum256(b[:r.off])
	}
	return ev, r.off, nil
}

// Decode decodes b, which must hold exactly one event.
func Decode(b []byte) (Event, error) {
	ev, n, err := Read(b)
	if err != nil {
		return Event{}, err
	}
	if n != len(b) {
		return Event{}, fmt.Errorf("logevent: %d bytes after the event's %d", len(b)-n, n)
	}
	return ev, nil
}

// Anchor is where an epoch's state came from when it is not the model's initial state: the
// replica that served it (its peer id, bytes) and its signature over the state as served
// (statesync.StateMessage of the checkpoint.Full stream, which is then the epoch's snapshot).
type Anchor struct {
	From, Sig []byte
}

// EpochHead is the head an epoch's log starts from: the root of its first state, when a replica
// served that state the replica and its signature, and the head the worker's previous epoch
// ended at (zero for none), so a later epoch's heads fix the earlier epochs' events too.
func EpochHead(root [32]byte, a *Anchor, prev [32]byte) [32]byte {
	var b bytes.Buffer
	b.WriteString("protolearn/replaylog/epoch/v2")
	b.Write(root[:])
	b.Write(prev[:])
	if a != nil {
		b.WriteByte(1)
		PutBytes(&b, a.From)
		PutBytes(&b, a.Sig)
	} else {
		b.WriteByte(0)
	}
	return sha256.Sum256(b.Bytes())
}

// SnapshotDigest is what a snapshot folds into the head (Next): the updates made before it and
// its state root.
func SnapshotDigest(first uint64, root [32]byte) [32]byte {
	b := append([]byte("protolearn/replaylog/snapshot/v1"), binary.LittleEndian.AppendUint64(nil, first)...)
	return sha256.Sum256(append(b, root[:]...))
}

// Next is the head after an event whose encoding has SHA-256 digest, the head before it being
// head.
func Next(head, digest [32]byte) [32]byte {
	var b [64]byte
	copy(b[:32], head[:])
	copy(b[32:], digest[:])
	return sha256.Sum256(b[:])
}

// Reader reads the log's integers and byte strings, bounding every length by what is left; the
// first error sticks (Err) and every later read returns zero values.
type Reader struct {
	b   []byte
	off int
	err error
}

// NewReader reads b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Err is the first error.
func (r *Reader) Err() error { return r.err }

// Off is how many bytes were read.
func (r *Reader) Off() int { return r.off }

// Fail records err unless an error is already held.
func (r *Reader) Fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// Next is the next n bytes (not copied).
func (r *Reader) Next(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.off {
		r.err = io.ErrUnexpectedEOF
		return nil
	}
	out := r.b[r.off : r.off+n]
	r.off += n
	return out
}

// U64 is a little-endian uint64.
func (r *Reader) U64() uint64 {
	b := r.Next(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

// Bytes is a length-prefixed byte string, copied (nil when empty).
func (r *Reader) Bytes() []byte {
	n := r.U64()
	if n > uint64(len(r.b)-r.off) {
		r.Fail(io.ErrUnexpectedEOF)
		return nil
	}
	if n == 0 {
		return nil
	}
	return bytes.Clone(r.Next(int(n)))
}

// Ints is a count-prefixed run of little-endian int32.
func (r *Reader) Ints() []int32 {
	n := r.U64()
	if n > uint64(len(r.b)-r.off)/4 {
		r.Fail(io.ErrUnexpectedEOF)
		return nil
	}
	if n == 0 {
		return nil
	}
	b := r.Next(int(n) * 4)
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// PutU64 appends v little-endian.
func PutU64(b *bytes.Buffer, v uint64) { b.Write(binary.LittleEndian.AppendUint64(nil, v)) }

// PutBytes appends v with its length.
func PutBytes(b *bytes.Buffer, v []byte) {
	PutU64(b, uint64(len(v)))
	b.Write(v)
}

func putInts(b *bytes.Buffer, v []int32) {
	PutU64(b, uint64(len(v)))
	for _, x := range v {
		b.Write(binary.LittleEndian.AppendUint32(nil, uint32(x)))
	}
}
