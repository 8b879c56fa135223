package infer

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// Protocol is the inference protocol's libp2p id.
const Protocol = "/protolearn/infer/1.0.0"

// Frame types.
const (
	frameHello byte = 1 // client: the model and stage it wants
	frameStep  byte = 2 // client: new positions
	frameRows  byte = 3 // server: the next stage's input rows
	frameToken byte = 4 // server (last stage): the sampled token
	frameError byte = 5 // server: why it refuses; the stream ends
)

var helloMagic = [4]byte{'P', 'L', 'I', '1'}

// MaxReason bounds an error frame's text.
const MaxReason = 512

// hello opens a session: the model and stage the client means (a stream to the wrong worker is
// refused rather than computed on).
type hello struct {
	Model uint64
	Stage uint32
}

func (h hello) encode() []byte {
	b := append([]byte{frameHello}, helloMagic[:]...)
	b = binary.LittleEndian.AppendUint64(b, h.Model)
	return binary.LittleEndian.AppendUint32(b, h.Stage)
}

func decodeHello(b []byte) (hello, error) {
	if len(b) != 17 || b[0] != frameHello || [4]byte(b[1:5]) != helloMagic {
		return hello{}, fmt.Errorf("infer: not a %s hello (%d bytes)", Protocol, len(b))
	}
	return hello{Model: binary.LittleEndian.Uint64(b[5:]), Stage: binary.LittleEndian.Uint32(b[13:])}, nil
}

// step is one call's new positions on a stage: their token ids, the previous stage's rows for
// them (after stage 0) and, on the last stage, how to sample the next token.
type step struct {
	IDs    []int32
	X      []float32
	Sample Sampling
}

// encode writes the step for a stage with boundary width w (0 on stage 0) that samples
// (last) or not.
func (s step) encode(last bool) []byte {
	b := []byte{frameStep}
	b = binary.LittleEndian.AppendUint16(b, uint16(len(s.IDs)))
	for _, id := range s.IDs {
		b = binary.LittleEndian.AppendUint32(b, uint32(id))
	}
	for _, v := range s.X {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	if last {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.Sample.Temperature))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.Sample.TopP))
		b = binary.LittleEndian.AppendUint64(b, s.Sample.Seed)
	}
	return b
}

// decodeStep reads a step for a stage whose input rows are w wide (0: stage 0, ids only);
// last says whether sampling parameters follow.
func decodeStep(b []byte, w int, last bool) (step, error) {
	if len(b) < 3 || b[0] != frameStep {
		return step{}, errors.New("infer: expected a step frame")
	}
	n := int(binary.LittleEndian.Uint16(b[1:]))
	want := 3 + 4*n + 4*n*w
	if last {
		want += 24
	}
	if n == 0 || len(b) != want {
		return step{}, fmt.Errorf("infer: a step of %d positions of width %d is %d bytes, got %d", n, w, want, len(b))
	}
	s := step{IDs: make([]int32, n)}
	b = b[3:]
	for i := range s.IDs {
		s.IDs[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	b = b[4*n:]
	if w > 0 {
		s.X = make([]float32, n*w)
		for i := range s.X {
			s.X[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		b = b[4*n*w:]
	}
	if last {
		s.Sample = Sampling{
			Temperature: math.Float64frombits(binary.LittleEndian.Uint64(b)),
			TopP:        math.Float64frombits(binary.LittleEndian.Uint64(b[8:])),
			Seed:        binary.LittleEndian.Uint64(b[16:]),
		}
		if err := s.Sample.Validate(); err != nil {
			return step{}, err
		}
	}
	return s, nil
}

func encodeRows(x []float32) []byte {
	b := make([]byte, 1, 1+4*len(x))
	b[0] = frameRows
	for _, v := range x {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func encodeToken(tok int32) []byte {
	return binary.LittleEndian.AppendUint32([]byte{frameToken}, uint32(tok))
}

func encodeError(msg string) []byte {
	if len(msg) > MaxReason {
		msg = msg[:MaxReason]
	}
	return append([]byte{frameError}, msg...)
}

// RemoteError is a worker's refusal: what it said.
type RemoteError struct{ Reason string }

func (e *RemoteError) Error() string { return "infer: the worker refused: " + e.Reason }

// decodeReply reads a server's answer to a step: rows of n×w finite values, or a token of the
// vocabulary on the last stage, or its refusal as a *RemoteError.
func decodeReply(b []byte, n, w, vocab int, last bool) (rows []float32, tok int32, err error) {
	if len(b) == 0 {
		return nil, 0, errors.New("infer: empty reply")
	}
	switch {
	case b[0] == frameError:
		return nil, 0, &RemoteError{Reason: strings.ToValidUTF8(string(b[1:]), "\uFFFD")}
	case last && b[0] == frameToken && len(b) == 5:
		tok := int32(binary.LittleEndian.Uint32(b[1:]))
		if tok < 0 || int(tok) >= vocab {
			return nil, 0, fmt.Errorf("infer: the last stage sampled token %d, outside the vocabulary [0, %d)", tok, vocab)
		}
		return nil, tok, nil
	case !last && b[0] == frameRows && len(b) == 1+4*n*w:
		rows = make([]float32, n*w)
		for i := range rows {
			v := math.Float32frombits(binary.LittleEndian.Uint32(b[1+4*i:]))
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, 0, fmt.Errorf("infer: a row value %v is not finite", v)
			}
			rows[i] = v
		}
		return rows, 0, nil
	}
	return nil, 0, fmt.Errorf("infer: a reply of %d bytes (type %d) is not what a step of %d positions gets", len(b), b[0], n)
}

// writeFrame writes a uvarint length and the frame.
func writeFrame(w io.Writer, b []byte) error {
	buf := binary.AppendUvarint(make([]byte, 0, len(b)+binary.MaxVarintLen32), uint64(len(b)))
	_, err := w.Write(append(buf, b...))
	return err
}

// readFrame reads one frame of at most limit bytes.
func readFrame(r *bufio.Reader, limit int) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if n > uint64(limit) {
		return nil, fmt.Errorf("infer: a frame of %d bytes; at most %d", n, limit)
	}
	b := make([]byte, n)
	_, err = io.ReadFull(r, b)
	return b, err
}

// replyLimit is the largest reply to a step of n positions with rows w wide.
func replyLimit(n, w int) int { return 1 + max(4*n*w, 4, MaxReason) }

// frameLimit is the largest frame of a stage whose rows are w wide in a context of ctx
// positions (a step or reply of every position at once).
func frameLimit(ctx, w int) int { return 64 + 4*ctx*(w+1) + MaxReason }
