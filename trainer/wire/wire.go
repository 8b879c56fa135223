// Package wire is the framing of protolearn's pipeline protocol,
// /protolearn/pipeline/3.0.0: the messages trainer workers of neighbouring
// stages exchange on libp2p streams. A frame carries one boundary tensor
// (a payload encoding: activations forward, gradients backward) or a
// short control message, with a header that says which model, stage, step
// and microbatch it belongs to, so a receiver can route or refuse it before
// decoding the tensor.
//
// # Frame format (version 3, little-endian)
//
//	uvarint  n: the length of the rest of the frame, 1 … MaxSize
//	offset  size  field (of the n bytes)
//	0       4     magic "PLW3"
//	4       1     type: 1 activations, 2 gradients, 3 ack, 4 busy, 5 reject
//	5       1     flags: bit 0 replay (the microbatch is being re-sent after
//	              a failure on its earlier path); other bits 0
//	6       2     reserved, 0
//	8       8     model id (uint64)
//	16      4     stage (uint32): the stage the frame is addressed to
//	20      8     step (uint64)
//	28      8     microbatch (uint64): swarm-wide id, chosen by stage 0
//	36      8     seq (uint64): activations and gradients only (0 in control
//	              frames), the sender's number for the payload, strictly
//	              increasing over what it sends and recorded in its replay log
//	44      64    activations and gradients only: the sender's signature of
//	              the frame's receipt (x/verify/types.Receipt: chain, model,
//	              direction, stage, step, microbatch, SHA-256 of the body,
//	              seq, sender and receiver), by its Ed25519 libp2p identity
//	44|108  …     body: a payload encoding (activations, gradients), the
//	              reason text (reject, ≤ MaxReason bytes of UTF-8), or
//	              nothing (ack, busy)
//
// The signature makes every boundary tensor a receipt the receiver can show
// to third parties: its sender sent it this payload (version 1 had none), and
// its number ties it to the sender's log (version 2 had none).
//
// Strictness: Read refuses a length above the reader's maximum before it
// allocates anything (ErrTooLarge: the peer is cut off, its stream reset),
// and anything Write cannot produce (ErrMalformed): a short frame, a wrong
// magic, an unknown type, unknown flags, non-zero reserved bytes, a body that the type
// does not allow. The body of a tensor frame is only checked to be
// non-empty here; the receiver decodes it with payload.Decode under its
// own payload.Limits.
package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Protocol is the libp2p protocol id of the pipeline protocol.
const Protocol = "/protolearn/pipeline/3.0.0"

// Magic starts every frame's header.
var Magic = [4]byte{'P', 'L', 'W', '3'}

// HeaderSize is the size of a frame's header (after the length prefix).
const HeaderSize = 44

// SigSize is the size of a tensor frame's receipt signature (Ed25519).
const SigSize = 64

// MaxReason bounds a reject frame's reason text.
const MaxReason = 512

// DefaultMaxSize is the largest frame a reader accepts unless told
// otherwise: 64 MiB, above the gpu-2048 configuration's raw f32
// activations of one 4×1024-token microbatch (33.6 MB).
const DefaultMaxSize = 64 << 20

// Type is what a frame carries.
type Type uint8

const (
	// Activations carries a payload of kind activations downstream.
	Activations Type = 1 + iota
	// Gradients carries a payload of kind gradients upstream.
	Gradients
	// Ack confirms that the receiver queued the frame with the same model,
	// stage, step and microbatch.
	Ack
	// Busy says the receiver's queue is full: send to another replica or
	// later (back-pressure).
	Busy
	// Reject refuses a frame for good, with the reason as body.
	Reject
)

func (t Type) String() string {
	switch t {
	case Activations:
		return "activations"
	case Gradients:
		return "gradients"
	case Ack:
		return "ack"
	case Busy:
		return "busy"
	case Reject:
		return "reject"
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// Errors a Read returns, wrapped with the details.
var (
	ErrTooLarge  = errors.New("wire: frame too large")
	ErrMalformed = errors.New("wire: malformed frame")
)

// Flags qualify a frame.
type Flags uint8

const (
	// Replay marks a microbatch re-sent after a failure on its earlier path:
	// a replica of a lower stage may have applied it already.
	Replay Flags = 1 << iota

	knownFlags = Replay
)

// Frame is one message of the pipeline protocol.
type Frame struct {
	Type       Type
	Flags      Flags
	Model      uint64
	Stage      uint32
	Step       uint64
	Microbatch uint64
	// Seq is the sender's number for a tensor frame's payload (types.Receipt.Seq); 0 in
	// control frames.
	Seq uint64
	// Sig is the sender's receipt signature (SigSize bytes) of an
	// Activations or Gradients frame; empty in control frames.
	Sig []byte
	// Body is the payload encoding (Activations, Gradients), the reason
	// (Reject) or empty (Ack, Busy).
	Body []byte
}

// Reply is a control frame (Ack, Busy or Reject with reason) about f.
func (f *Frame) Reply(t Type, reason string) *Frame {
	r := &Frame{Type: t, Model: f.Model, Stage: f.Stage, Step: f.Step, Microbatch: f.Microbatch}
	if t == Reject {
		r.Body = []byte(truncate(reason, MaxReason))
	}
	return r
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// validate checks what the header cannot say by itself: the body the type
// allows.
func (f *Frame) validate() error {
	switch f.Type {
	case Activations, Gradients:
		if len(f.Body) == 0 {
			return fmt.Errorf("%w: %v frame without a payload", ErrMalformed, f.Type)
		}
		if len(f.Sig) != SigSize {
			return fmt.Errorf("%w: %v frame with a %d-byte signature, want %d", ErrMalformed, f.Type, len(f.Sig), SigSize)
		}
		return nil
	}
	if len(f.Sig) != 0 || f.Seq != 0 {
		return fmt.Errorf("%w: %v frame with a signature or a send number", ErrMalformed, f.Type)
	}
	switch f.Type {
	case Ack, Busy:
		if len(f.Body) != 0 {
			return fmt.Errorf("%w: %v frame with a %d-byte body", ErrMalformed, f.Type, len(f.Body))
		}
	case Reject:
		if len(f.Body) > MaxReason || !utf8.Valid(f.Body) {
			return fmt.Errorf("%w: reject reason must be at most %d bytes of UTF-8 (got %d bytes)", ErrMalformed, MaxReason, len(f.Body))
		}
	default:
		return fmt.Errorf("%w: unknown type %d", ErrMalformed, uint8(f.Type))
	}
	return nil
}

// Size is the number of bytes Write puts on the wire for f: the length
// prefix, the header, the signature and the body.
func (f *Frame) Size() int {
	n := HeaderSize + len(f.Sig) + len(f.Body)
	return uvarintLen(uint64(n)) + n
}

func uvarintLen(x uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], x)
}

// Append appends f's encoding to b.
func (f *Frame) Append(b []byte) ([]byte, error) {
	if err := f.validate(); err != nil {
		return b, err
	}
	b = binary.AppendUvarint(b, uint64(HeaderSize+len(f.Sig)+len(f.Body)))
	b = append(b, Magic[:]...)
	b = append(b, byte(f.Type), byte(f.Flags), 0, 0)
	b = binary.LittleEndian.AppendUint64(b, f.Model)
	b = binary.LittleEndian.AppendUint32(b, f.Stage)
	b = binary.LittleEndian.AppendUint64(b, f.Step)
	b = binary.LittleEndian.AppendUint64(b, f.Microbatch)
	b = binary.LittleEndian.AppendUint64(b, f.Seq)
	b = append(b, f.Sig...)
	return append(b, f.Body...), nil
}

// Write writes f to w in one Write call (one frame never interleaves with
// another writer's, and a muxed stream sends it without extra flushes).
func Write(w io.Writer, f *Frame) error {
	b, err := f.Append(make([]byte, 0, f.Size()))
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Read reads one frame of at most maxSize bytes after the length prefix
// (0 means DefaultMaxSize). An io.EOF before the first byte is returned as
// is (the peer closed the stream between frames); a stream that ends inside
// a frame is io.ErrUnexpectedEOF.
func Read(r *bufio.Reader, maxSize int) (*Frame, error) {
	f, n, err := ReadHeader(r, maxSize)
	if err != nil {
		return nil, err
	}
	if err := ReadBody(r, f, n); err != nil {
		return nil, err
	}
	return f, nil
}

// ReadHeader reads a frame's length prefix and header and checks them as
// Read does, without reading the body: it returns the frame without its
// body, and the body's length, so that a receiver can refuse the frame, or
// reserve memory for the body, before a byte of it is read or allocated.
// ReadBody reads the body next.
func ReadHeader(r *bufio.Reader, maxSize int) (*Frame, int, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	br := &byteReader{r: r}
	n, err := binary.ReadUvarint(br)
	if err != nil {
		if br.err != nil { // the stream failed (EOF, reset, deadline): not the peer's bytes
			return nil, 0, err
		}
		return nil, 0, fmt.Errorf("%w: length prefix: %v", ErrMalformed, err)
	}
	if n > uint64(maxSize) {
		return nil, 0, fmt.Errorf("%w: %d bytes announced, the limit is %d", ErrTooLarge, n, maxSize)
	}
	if n < HeaderSize {
		return nil, 0, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", ErrMalformed, n, HeaderSize)
	}
	var h [HeaderSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, 0, unexpected(err)
	}
	if [4]byte(h[0:4]) != Magic {
		return nil, 0, fmt.Errorf("%w: magic %q, want %q", ErrMalformed, h[0:4], Magic[:])
	}
	if Flags(h[5])&^knownFlags != 0 {
		return nil, 0, fmt.Errorf("%w: unknown flags %#x (byte 5)", ErrMalformed, h[5])
	}
	if h[6] != 0 || h[7] != 0 {
		return nil, 0, fmt.Errorf("%w: reserved bytes 6-7 are %x, want 0", ErrMalformed, h[6:8])
	}
	f := &Frame{
		Type:       Type(h[4]),
		Flags:      Flags(h[5]),
		Model:      binary.LittleEndian.Uint64(h[8:16]),
		Stage:      binary.LittleEndian.Uint32(h[16:20]),
		Step:       binary.LittleEndian.Uint64(h[20:28]),
		Microbatch: binary.LittleEndian.Uint64(h[28:36]),
		Seq:        binary.LittleEndian.Uint64(h[36:44]),
	}
	// Check the type before reading a body it may not have: a control
	// frame announcing megabytes is refused without reading them.
	body := int(n) - HeaderSize
	switch f.Type {
	case Activations, Gradients:
		if body <= SigSize {
			return nil, 0, fmt.Errorf("%w: %v frame of %d bytes after the header, want a %d-byte signature and a payload", ErrMalformed, f.Type, body, SigSize)
		}
	case Ack, Busy:
		if body != 0 {
			return nil, 0, fmt.Errorf("%w: %v frame with a %d-byte body", ErrMalformed, f.Type, body)
		}
	case Reject:
		if body > MaxReason {
			return nil, 0, fmt.Errorf("%w: reject reason of %d bytes, the limit is %d", ErrMalformed, body, MaxReason)
		}
	default:
		return nil, 0, fmt.Errorf("%w: unknown type %d (byte 4)", ErrMalformed, h[4])
	}
	return f, body, nil
}

// ReadBody reads the n bytes after f's header (as ReadHeader returned
// them: the signature of a tensor frame, then the body) and checks the whole
// frame.
func ReadBody(r *bufio.Reader, f *Frame, n int) error {
	if f.Type == Activations || f.Type == Gradients {
		if n <= SigSize {
			return fmt.Errorf("%w: %v frame of %d bytes after the header, want a %d-byte signature and a payload", ErrMalformed, f.Type, n, SigSize)
		}
		f.Sig = make([]byte, SigSize)
		if _, err := io.ReadFull(r, f.Sig); err != nil {
			return unexpected(err)
		}
		n -= SigSize
	}
	if n > 0 {
		f.Body = make([]byte, n)
		if _, err := io.ReadFull(r, f.Body); err != nil {
			return unexpected(err)
		}
	}
	return f.validate()
}

// byteReader remembers the reader's error, telling a failed stream from a
// prefix that is not a uvarint.
type byteReader struct {
	r   *bufio.Reader
	err error
}

func (b *byteReader) ReadByte() (byte, error) {
	c, err := b.r.ReadByte()
	if err != nil {
		b.err = err
	}
	return c, err
}

// unexpected turns an EOF inside a frame into io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
