package wire

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
)

func sample() []*Frame {
	tensor := &Frame{Type: Activations, Model: 7, Stage: 2, Step: 1 << 40, Microbatch: 0xdeadbeef01, Seq: 1_765_000_000_123_456, Sig: bytes.Repeat([]byte{0x5a}, SigSize), Body: []byte("PLP1 payload bytes")}
	return []*Frame{
		tensor,
		{Type: Gradients, Flags: Replay, Model: 7, Stage: 1, Step: 3, Microbatch: 9, Sig: make([]byte, SigSize), Body: bytes.Repeat([]byte{0xAB}, 1000)},
		tensor.Reply(Ack, ""),
		tensor.Reply(Busy, "ignored"),
		tensor.Reply(Reject, "wrong shape: width 4, expected 8"),
		tensor.Reply(Reject, ""),
	}
}

// countingWriter counts Write calls.
type countingWriter struct {
	bytes.Buffer
	calls int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.calls++
	return w.Buffer.Write(p)
}

// TestRoundTrip: every frame type reads back as written, Size is the bytes
// written, each frame is one Write, frames follow each other on a stream,
// and the stream's clean end is io.EOF.
func TestRoundTrip(t *testing.T) {
	var w countingWriter
	frames := sample()
	total := 0
	for _, f := range frames {
		before := w.Len()
		if err := Write(&w, f); err != nil {
			t.Fatal(err)
		}
		if got := w.Len() - before; got != f.Size() {
			t.Errorf("%v: wrote %d bytes, Size says %d", f.Type, got, f.Size())
		}
		total += f.Size()
	}
	if w.calls != len(frames) {
		t.Errorf("%d Write calls for %d frames", w.calls, len(frames))
	}
	r := bufio.NewReader(&w.Buffer)
	for i, want := range frames {
		got, err := Read(r, 0)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if got.Type != want.Type || got.Model != want.Model || got.Stage != want.Stage || got.Step != want.Step ||
			got.Microbatch != want.Microbatch || !bytes.Equal(got.Body, want.Body) {
			t.Errorf("frame %d: read %+v, wrote %+v", i, got, want)
		}
	}
	if _, err := Read(r, 0); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
	if frames[3].Body != nil {
		t.Error("a busy reply carries a body")
	}
}

// TestRejectReasonTruncated: a long reason is cut at MaxReason bytes on a
// UTF-8 boundary and still reads back.
func TestRejectReasonTruncated(t *testing.T) {
	f := (&Frame{Type: Activations}).Reply(Reject, strings.Repeat("é", MaxReason))
	if len(f.Body) > MaxReason || len(f.Body) < MaxReason-1 {
		t.Fatalf("reason of %d bytes", len(f.Body))
	}
	var b bytes.Buffer
	if err := Write(&b, f); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(bufio.NewReader(&b), 0); err != nil {
		t.Fatal(err)
	}
}

// frameBytes is an encoding with the header fields and body given raw, for
// frames Write refuses to make.
func frameBytes(n uint64, magic string, typ byte, reserved [3]byte, body []byte) []byte {
	b := binary.AppendUvarint(nil, n)
	b = append(b, magic...)
	b = append(b, typ, reserved[0], reserved[1], reserved[2])
	b = append(b, make([]byte, HeaderSize-8)...)
	return append(b, body...)
}

// numbered sets the seq of the frame encoding b (a one-byte length prefix) to 1.
func numbered(b []byte) []byte {
	b[1+36] = 1
	return b
}

// limitedReader fails the test if more than max bytes are read from it.
type limitedReader struct {
	t   *testing.T
	r   io.Reader
	max int
}

func (l *limitedReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.max -= n
	if l.max < 0 {
		l.t.Fatal("Read consumed bytes past what it needed to refuse the frame")
	}
	return n, err
}

// TestHostile: oversize announcements are refused before anything is read
// or allocated; malformed headers, bodies a type does not allow, and
// truncated frames are errors that say what is wrong; none panics.
func TestHostile(t *testing.T) {
	ok := [3]byte{}
	huge := binary.AppendUvarint(nil, 1<<62)
	for _, tc := range []struct {
		name string
		in   []byte
		max  int
		is   error
		want string
	}{
		{"oversize", append(huge, make([]byte, 100)...), 0, ErrTooLarge, "the limit is 67108864"},
		{"over a small limit", frameBytes(HeaderSize+100, "PLW3", 1, ok, make([]byte, 100)), HeaderSize + 99, ErrTooLarge, "144 bytes announced"},
		{"short", frameBytes(HeaderSize-1, "PLW3", 3, ok, nil)[:HeaderSize], 0, ErrMalformed, "shorter than the 44-byte header"},
		{"magic", frameBytes(HeaderSize, "PLP1", 3, ok, nil), 0, ErrMalformed, "magic"},
		{"version 2", frameBytes(HeaderSize, "PLW2", 3, ok, nil), 0, ErrMalformed, `magic "PLW2", want "PLW3"`},
		{"reserved", frameBytes(HeaderSize, "PLW3", 3, [3]byte{0, 1, 0}, nil), 0, ErrMalformed, "reserved"},
		{"unknown flag", frameBytes(HeaderSize, "PLW3", 3, [3]byte{2, 0, 0}, nil), 0, ErrMalformed, "unknown flags"},
		{"unknown type", frameBytes(HeaderSize, "PLW3", 9, ok, nil), 0, ErrMalformed, "unknown type 9"},
		{"type 0", frameBytes(HeaderSize, "PLW3", 0, ok, nil), 0, ErrMalformed, "unknown type 0"},
		{"ack with a body", frameBytes(HeaderSize+3, "PLW3", 3, ok, []byte("abc")), 0, ErrMalformed, "ack frame with a 3-byte body"},
		{"busy announcing megabytes", frameBytes(HeaderSize+50<<20, "PLW3", 4, ok, nil), 0, ErrMalformed, "busy frame with a 52428800-byte body"},
		{"long reason", frameBytes(HeaderSize+MaxReason+1, "PLW3", 5, ok, make([]byte, MaxReason+1)), 0, ErrMalformed, "reject reason of 513 bytes"},
		{"reason not UTF-8", frameBytes(HeaderSize+2, "PLW3", 5, ok, []byte{0xff, 0xfe}), 0, ErrMalformed, "UTF-8"},
		{"empty tensor", frameBytes(HeaderSize, "PLW3", 1, ok, nil), 0, ErrMalformed, "want a 64-byte signature and a payload"},
		{"unsigned tensor", frameBytes(HeaderSize+10, "PLW3", 2, ok, make([]byte, 10)), 0, ErrMalformed, "gradients frame of 10 bytes after the header, want a 64-byte signature"},
		{"signature only", frameBytes(HeaderSize+SigSize, "PLW3", 1, ok, make([]byte, SigSize)), 0, ErrMalformed, "want a 64-byte signature and a payload"},
		{"truncated header", frameBytes(HeaderSize, "PLW3", 3, ok, nil)[:10], 0, io.ErrUnexpectedEOF, ""},
		{"truncated body", frameBytes(HeaderSize+SigSize+10, "PLW3", 2, ok, make([]byte, SigSize+5)), 0, io.ErrUnexpectedEOF, ""},
		{"truncated prefix", []byte{0x80}, 0, io.ErrUnexpectedEOF, ""},
		{"numbered control frame", numbered(frameBytes(HeaderSize, "PLW3", 3, ok, nil)), 0, ErrMalformed, "ack frame with a signature or a send number"},
		{"prefix overflow", bytes.Repeat([]byte{0xff}, 11), 0, ErrMalformed, "length prefix"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The reader may take the prefix and the header, never a body
			// it refuses.
			limit := len(tc.in)
			if errors.Is(tc.is, ErrTooLarge) || strings.Contains(tc.want, "body") || strings.Contains(tc.want, "reason of") {
				limit = binary.MaxVarintLen64 + HeaderSize
			}
			r := bufio.NewReaderSize(&limitedReader{t: t, r: bytes.NewReader(tc.in), max: limit}, 16)
			f, err := Read(r, tc.max)
			if err == nil || !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Read: %+v, %v; want %v containing %q", f, err, tc.is, tc.want)
			}
			t.Log(err)
		})
	}
	// Write refuses what Read would.
	for _, f := range []*Frame{
		{Type: 0},
		{Type: Gradients},
		{Type: Gradients, Body: []byte("p")}, // unsigned
		{Type: Activations, Sig: make([]byte, 63), Body: []byte("p")}, // short signature
		{Type: Ack, Sig: make([]byte, SigSize)},                       // a signed control frame
		{Type: Busy, Seq: 5},                                          // a numbered one
		{Type: Ack, Body: []byte("x")},
		{Type: Reject, Body: []byte{0xff}},
		{Type: Reject, Body: make([]byte, MaxReason+1)},
	} {
		if err := Write(io.Discard, f); !errors.Is(err, ErrMalformed) {
			t.Errorf("Write(%+v): %v, want ErrMalformed", f, err)
		}
	}
}

// FuzzRead: Read never panics, and a frame it accepts re-encodes to exactly
// the bytes it consumed.
func FuzzRead(f *testing.F) {
	for _, fr := range sample() {
		b, err := fr.Append(nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add(frameBytes(HeaderSize, "PLW3", 9, [3]byte{}, nil))
	f.Fuzz(func(t *testing.T, in []byte) {
		src := bytes.NewReader(in)
		r := bufio.NewReader(src)
		fr, err := Read(r, 1<<16)
		if err != nil {
			return
		}
		used := len(in) - src.Len() - r.Buffered()
		b, err := fr.Append(nil)
		if err != nil {
			t.Fatalf("accepted frame does not re-encode: %v", err)
		}
		if !bytes.Equal(b, in[:used]) {
			t.Fatalf("re-encoding differs:\n%x\n%x", b, in[:used])
		}
	})
}
