package payload

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// Error categories; every error returned by this package wraps exactly one.
var (
	ErrMalformed = errors.New("payload: malformed")        // bytes that are not a valid encoding
	ErrLimit     = errors.New("payload: exceeds limit")    // sizes beyond the receiver's Limits
	ErrNonFinite = errors.New("payload: non-finite value") // NaN, ±Inf, or bf16 overflow
	ErrInvalid   = errors.New("payload: invalid payload")  // a Payload struct that cannot be encoded
	ErrShape     = errors.New("payload: unexpected shape") // Check: not what the receiving stage expects
)

// Kind says which way a payload travels.
type Kind uint8

const (
	Activations Kind = 1 // forward: X (raw) or C = (X − T_fixed[ids])·U (compressed), plus ids
	Gradients   Kind = 2 // backward: ∂L/∂X (raw) or ∂L/∂C (compressed), no ids
)

func (k Kind) String() string {
	switch k {
	case Activations:
		return "activations"
	case Gradients:
		return "gradients"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// DType is the wire element type of the values. In memory values are always float32.
type DType uint8

const (
	F32  DType = 1 // IEEE binary32, 4 bytes
	BF16 DType = 2 // bfloat16 (upper half of binary32, round-to-nearest-even), 2 bytes
)

func (d DType) String() string {
	switch d {
	case F32:
		return "f32"
	case BF16:
		return "bf16"
	case 0:
		return "any"
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Size is the number of bytes one value takes on the wire (0 for an unknown DType).
func (d DType) Size() int {
	switch d {
	case F32:
		return 4
	case BF16:
		return 2
	}
	return 0
}

const (
	// HeaderSize is the fixed header length in bytes.
	HeaderSize = 40
	// Version is the format version this package writes and accepts.
	Version = 1
	// MaxVocab is the largest vocabulary a payload can declare (ids are int32).
	MaxVocab = 1 << 31

	flagCompressed = 1 << 0
)

// Magic opens every encoding.
var Magic = [4]byte{'P', 'L', 'P', '1'}

// Payload is one boundary tensor between two pipeline stages.
//
// Data holds Batch·Seq·Width float32 values, row-major [batch][seq][width].
// Width is k when Compressed (the subspace rank), d_model when raw.
//
// Ids: an Activations payload always carries Batch·Seq token ids, row-major
// [batch][seq], each in [0, Vocab): the receiver needs T_fixed[ids] to rebuild
// X when compressed, and the last stage needs them for the loss either way, so
// the raw baseline pays for them too. A Gradients payload carries no ids
// (IDs nil, Vocab 0): the stage receiving a gradient already holds the ids of
// its microbatch, identified by (Step, Microbatch).
type Payload struct {
	Kind       Kind
	DType      DType // wire type; in memory always float32
	Compressed bool  // Width is the rank k of the subspace, values are C or ∂L/∂C
	Step       uint64
	Microbatch uint32
	Batch      uint32
	Seq        uint32
	Width      uint32
	Vocab      uint32    // ids lie in [0, Vocab); Activations only, 1..MaxVocab
	Data       []float32 // Batch·Seq·Width values
	IDs        []int32   // Batch·Seq ids (Activations), nil (Gradients)
}

// Shape is what describes a payload apart from its contents: what a receiving
// stage expects (Check) and what fixes the encoded size (EncodedSize).
// DType 0 means "either dtype" in Check.
type Shape struct {
	Kind       Kind
	DType      DType
	Compressed bool
	Batch      uint32
	Seq        uint32
	Width      uint32
	Vocab      uint32 // Activations: the model's vocabulary; Gradients: 0
}

// Shape returns p's shape.
func (p *Payload) Shape() Shape {
	return Shape{
		Kind: p.Kind, DType: p.DType, Compressed: p.Compressed,
		Batch: p.Batch, Seq: p.Seq, Width: p.Width, Vocab: p.Vocab,
	}
}

// Limits bound what Decode accepts before it allocates anything. A zero field
// takes its value from DefaultLimits.
type Limits struct {
	MaxTokens uint64 // Batch·Seq
	MaxValues uint64 // Batch·Seq·Width
	MaxWidth  uint32
	MaxVocab  uint32
}

// DefaultLimits: 16 Mi tokens, 256 Mi values (1 GiB as float32), width 1 Mi, vocab 2^31.
var DefaultLimits = Limits{MaxTokens: 1 << 24, MaxValues: 1 << 28, MaxWidth: 1 << 20, MaxVocab: MaxVocab}

func (l Limits) withDefaults() Limits {
	if l.MaxTokens == 0 {
		l.MaxTokens = DefaultLimits.MaxTokens
	}
	if l.MaxValues == 0 {
		l.MaxValues = DefaultLimits.MaxValues
	}
	if l.MaxWidth == 0 {
		l.MaxWidth = DefaultLimits.MaxWidth
	}
	if l.MaxVocab == 0 {
		l.MaxVocab = DefaultLimits.MaxVocab
	}
	return l
}

// idWidth is the number of bytes per id on the wire, fixed by the vocabulary:
// 1 for Vocab ≤ 256 (byte-level models), 2 for ≤ 65536, else 4. 0: no ids.
func idWidth(kind Kind, vocab uint32) int {
	switch {
	case kind != Activations:
		return 0
	case vocab <= 1<<8:
		return 1
	case vocab <= 1<<16:
		return 2
	}
	return 4
}

// counts validates a shape's structure and returns its token and value
// counts and encoded size, with no overflow on any platform with 64-bit int.
func (s Shape) counts(l Limits) (tokens, values uint64, size int, err error) {
	switch s.Kind {
	case Activations:
		if s.Vocab == 0 || s.Vocab > MaxVocab {
			return 0, 0, 0, fmt.Errorf("vocab %d not in [1, %d] for activations", s.Vocab, uint64(MaxVocab))
		}
		if s.Vocab > l.MaxVocab {
			return 0, 0, 0, fmt.Errorf("%w: vocab %d > MaxVocab %d", ErrLimit, s.Vocab, l.MaxVocab)
		}
	case Gradients:
		if s.Vocab != 0 {
			return 0, 0, 0, fmt.Errorf("vocab %d for gradients, want 0 (gradients carry no ids)", s.Vocab)
		}
	default:
		return 0, 0, 0, fmt.Errorf("unknown kind %d", uint8(s.Kind))
	}
	if s.DType.Size() == 0 {
		return 0, 0, 0, fmt.Errorf("unknown dtype %d", uint8(s.DType))
	}
	if s.Batch == 0 || s.Seq == 0 || s.Width == 0 {
		return 0, 0, 0, fmt.Errorf("zero dimension: batch %d, seq %d, width %d", s.Batch, s.Seq, s.Width)
	}
	if s.Width > l.MaxWidth {
		return 0, 0, 0, fmt.Errorf("%w: width %d > MaxWidth %d", ErrLimit, s.Width, l.MaxWidth)
	}
	tokens = uint64(s.Batch) * uint64(s.Seq) // < 2^64
	if tokens > l.MaxTokens {
		return 0, 0, 0, fmt.Errorf("%w: batch·seq = %d·%d = %d > MaxTokens %d", ErrLimit, s.Batch, s.Seq, tokens, l.MaxTokens)
	}
	hi, values := bits.Mul64(tokens, uint64(s.Width))
	if hi != 0 || values > l.MaxValues {
		return 0, 0, 0, fmt.Errorf("%w: batch·seq·width = %d·%d·%d > MaxValues %d", ErrLimit, s.Batch, s.Seq, s.Width, l.MaxValues)
	}
	// tokens ≤ values ≤ MaxValues; guard the size sum against absurd limits.
	total := uint64(HeaderSize)
	for _, add := range [2][2]uint64{{tokens, uint64(idWidth(s.Kind, s.Vocab))}, {values, uint64(s.DType.Size())}} {
		h, lo := bits.Mul64(add[0], add[1])
		total += lo
		if h != 0 || total < lo || total > uint64(math.MaxInt) {
			return 0, 0, 0, fmt.Errorf("%w: encoded size overflows", ErrLimit)
		}
	}
	return tokens, values, int(total), nil
}

// EncodedSize returns the exact number of bytes Encode produces for a payload
// of shape s (s.DType must be F32 or BF16): what the network carries.
func EncodedSize(s Shape) (int, error) {
	l := Limits{MaxTokens: math.MaxUint64, MaxValues: math.MaxUint64, MaxWidth: math.MaxUint32, MaxVocab: math.MaxUint32}
	_, _, n, err := s.counts(l)
	if err != nil {
		return 0, wrapInvalid(err)
	}
	return n, nil
}

func wrapInvalid(err error) error {
	if errors.Is(err, ErrLimit) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrInvalid, err)
}

// Check reports whether p is what a receiving stage expects: every field of
// want must match (DType 0 accepts either dtype). The error names the first
// mismatching field with the expected and received values.
func (p *Payload) Check(want Shape) error {
	if err := p.Shape().Match(want); err != nil {
		return err
	}
	if uint64(len(p.Data)) != uint64(p.Batch)*uint64(p.Seq)*uint64(p.Width) {
		return fmt.Errorf("%w: len(data): expected %v, got %v", ErrShape, uint64(p.Batch)*uint64(p.Seq)*uint64(p.Width), len(p.Data))
	}
	return nil
}

// PeekShape is the shape the header of encoding b declares, without reading the rest: what a
// receiver checks before it spends anything on the body.
func PeekShape(b []byte) (Shape, error) {
	p, _, err := parseHeader(b, Limits{})
	if err != nil {
		return Shape{}, err
	}
	return p.Shape(), nil
}

// PeekID returns the (Step, Microbatch) a payload's header names, without decoding its data.
func PeekID(b []byte) (step uint64, microbatch uint32, err error) {
	p, _, err := parseHeader(b, Limits{})
	if err != nil {
		return 0, 0, err
	}
	return p.Step, p.Microbatch, nil
}

// Match reports how s differs from want (DType 0 in want means either dtype).
func (s Shape) Match(want Shape) error {
	got := s
	mis := func(field string, w, g any) error {
		return fmt.Errorf("%w: %s: expected %v, got %v", ErrShape, field, w, g)
	}
	switch {
	case got.Kind != want.Kind:
		return mis("kind", want.Kind, got.Kind)
	case want.DType != 0 && got.DType != want.DType:
		return mis("dtype", want.DType, got.DType)
	case got.Compressed != want.Compressed:
		return mis("compressed", want.Compressed, got.Compressed)
	case got.Batch != want.Batch:
		return mis("batch", want.Batch, got.Batch)
	case got.Seq != want.Seq:
		return mis("seq", want.Seq, got.Seq)
	case got.Width != want.Width:
		return mis("width", want.Width, got.Width)
	case got.Vocab != want.Vocab:
		return mis("vocab", want.Vocab, got.Vocab)
	}
	return nil
}

// Validate checks that p can be encoded: known kind and dtype, non-zero
// dimensions, len(Data) = Batch·Seq·Width, ids present (Activations, each in
// [0, Vocab)) or absent (Gradients), every value finite and, for BF16, not
// rounding to ±Inf. Errors name the offending element.
func (p *Payload) Validate() error {
	if _, err := p.validateStructure(); err != nil {
		return err
	}
	return p.validateValues()
}

func (p *Payload) validateStructure() (size int, err error) {
	noLimits := Limits{MaxTokens: math.MaxUint64, MaxValues: math.MaxUint64, MaxWidth: math.MaxUint32, MaxVocab: math.MaxUint32}
	tokens, values, size, err := p.Shape().counts(noLimits)
	if err != nil {
		return 0, wrapInvalid(err)
	}
	if uint64(len(p.Data)) != values {
		return 0, fmt.Errorf("%w: len(data) = %d, want batch·seq·width = %d·%d·%d = %d",
			ErrInvalid, len(p.Data), p.Batch, p.Seq, p.Width, values)
	}
	if p.Kind == Gradients {
		if p.IDs != nil {
			return 0, fmt.Errorf("%w: gradients carry no ids, got %d", ErrInvalid, len(p.IDs))
		}
		return size, nil
	}
	if uint64(len(p.IDs)) != tokens {
		return 0, fmt.Errorf("%w: len(ids) = %d, want batch·seq = %d", ErrInvalid, len(p.IDs), tokens)
	}
	for i, id := range p.IDs {
		if id < 0 || uint32(id) >= p.Vocab {
			return 0, fmt.Errorf("%w: id %d (batch %d, pos %d) = %d not in [0, %d)",
				ErrInvalid, i, uint32(i)/p.Seq, uint32(i)%p.Seq, id, p.Vocab)
		}
	}
	return size, nil
}

// where names the position of value i.
func (p *Payload) where(i int) string {
	row := uint64(i) / uint64(p.Width)
	return fmt.Sprintf("value %d (batch %d, pos %d, col %d)", i,
		row/uint64(p.Seq), row%uint64(p.Seq), uint64(i)%uint64(p.Width))
}

func (p *Payload) validateValues() error {
	for i, f := range p.Data {
		b := math.Float32bits(f)
		if b&0x7f800000 == 0x7f800000 {
			return fmt.Errorf("%w: %s is %v", ErrNonFinite, p.where(i), f)
		}
		if p.DType == BF16 && bf16NonFinite(uint16((b+0x7fff+(b>>16)&1)>>16)) {
			return fmt.Errorf("%w: %s = %v overflows bfloat16 (max finite %v)", ErrNonFinite, p.where(i), f, BF16MaxFinite)
		}
	}
	return nil
}

// Encode returns the wire encoding of p (see the package documentation).
func Encode(p *Payload) ([]byte, error) { return AppendEncode(nil, p) }

// AppendEncode appends the encoding of p to dst. On error dst is returned unchanged.
func AppendEncode(dst []byte, p *Payload) ([]byte, error) {
	size, err := p.validateStructure()
	if err != nil {
		return dst, err
	}
	if err := p.validateValues(); err != nil {
		return dst, err
	}
	start := len(dst)
	out := append(dst, make([]byte, size)...)
	b := out[start:]
	copy(b[0:4], Magic[:])
	b[4] = Version
	b[5] = byte(p.Kind)
	b[6] = byte(p.DType)
	if p.Compressed {
		b[7] = flagCompressed
	}
	iw := idWidth(p.Kind, p.Vocab)
	b[8] = byte(iw)
	// b[9:12] reserved, zero
	le := binary.LittleEndian
	le.PutUint64(b[12:], p.Step)
	le.PutUint32(b[20:], p.Microbatch)
	le.PutUint32(b[24:], p.Batch)
	le.PutUint32(b[28:], p.Seq)
	le.PutUint32(b[32:], p.Width)
	le.PutUint32(b[36:], p.Vocab)
	o := HeaderSize
	switch iw {
	case 1:
		for _, id := range p.IDs {
			b[o] = byte(id)
			o++
		}
	case 2:
		for _, id := range p.IDs {
			le.PutUint16(b[o:], uint16(id))
			o += 2
		}
	case 4:
		for _, id := range p.IDs {
			le.PutUint32(b[o:], uint32(id))
			o += 4
		}
	}
	switch p.DType {
	case F32:
		for _, f := range p.Data {
			le.PutUint32(b[o:], math.Float32bits(f))
			o += 4
		}
	case BF16:
		for _, f := range p.Data {
			b32 := math.Float32bits(f)
			le.PutUint16(b[o:], uint16((b32+0x7fff+(b32>>16)&1)>>16))
			o += 2
		}
	}
	return out, nil
}

// header is what the fixed header says about the rest of an encoding.
type header struct {
	tokens, values uint64
	size, iw       int
}

// parseHeader validates the fixed header of b (which may be longer: the body follows) and
// returns the payload it describes, without ids or values.
func parseHeader(b []byte, limits Limits) (*Payload, header, error) {
	l := limits.withDefaults()
	if len(b) < HeaderSize {
		return nil, header{}, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", ErrMalformed, len(b), HeaderSize)
	}
	if [4]byte(b[0:4]) != Magic {
		return nil, header{}, fmt.Errorf("%w: magic %q, want %q", ErrMalformed, b[0:4], Magic[:])
	}
	if b[4] != Version {
		return nil, header{}, fmt.Errorf("%w: version %d, want %d", ErrMalformed, b[4], Version)
	}
	le := binary.LittleEndian
	p := &Payload{
		Kind:       Kind(b[5]),
		DType:      DType(b[6]),
		Compressed: b[7]&flagCompressed != 0,
		Step:       le.Uint64(b[12:]),
		Microbatch: le.Uint32(b[20:]),
		Batch:      le.Uint32(b[24:]),
		Seq:        le.Uint32(b[28:]),
		Width:      le.Uint32(b[32:]),
		Vocab:      le.Uint32(b[36:]),
	}
	if p.Kind != Activations && p.Kind != Gradients {
		return nil, header{}, fmt.Errorf("%w: unknown kind %d (byte 5)", ErrMalformed, b[5])
	}
	if p.DType.Size() == 0 {
		return nil, header{}, fmt.Errorf("%w: unknown dtype %d (byte 6)", ErrMalformed, b[6])
	}
	if b[7]&^flagCompressed != 0 {
		return nil, header{}, fmt.Errorf("%w: unknown flags %#02x (byte 7)", ErrMalformed, b[7])
	}
	if b[9] != 0 || b[10] != 0 || b[11] != 0 {
		return nil, header{}, fmt.Errorf("%w: reserved bytes 9..11 = % x, want zero", ErrMalformed, b[9:12])
	}
	tokens, values, size, err := p.Shape().counts(l)
	if err != nil {
		if errors.Is(err, ErrLimit) {
			return nil, header{}, err
		}
		return nil, header{}, fmt.Errorf("%w: header: %w", ErrMalformed, err)
	}
	iw := idWidth(p.Kind, p.Vocab)
	if int(b[8]) != iw {
		return nil, header{}, fmt.Errorf("%w: id width %d (byte 8), want %d for %v with vocab %d", ErrMalformed, b[8], iw, p.Kind, p.Vocab)
	}
	return p, header{tokens: tokens, values: values, size: size, iw: iw}, nil
}

// Decode parses one encoded payload strictly: the magic, version, kind,
// dtype, flags, id width and reserved bytes must be exactly what Encode
// writes; the dimensions must pass limits (checked before any allocation);
// len(b) must be exactly the encoded size (no truncation, no trailing bytes);
// every id must lie in [0, vocab) and every value be finite. Errors say what
// is wrong and where; Decode never panics. The result re-encodes to b.
func Decode(b []byte, limits Limits) (*Payload, error) {
	p, h, err := parseHeader(b, limits)
	if err != nil {
		return nil, err
	}
	if len(b) != h.size {
		what := "truncated"
		if len(b) > h.size {
			what = "trailing bytes"
		}
		return nil, fmt.Errorf("%w: %s: %d bytes, header says %d (%d header + %d ids × %d + %d values × %d)",
			ErrMalformed, what, len(b), h.size, HeaderSize, h.tokens*uint64(min(h.iw, 1)), h.iw, h.values, p.DType.Size())
	}
	tokens, values, iw := h.tokens, h.values, h.iw
	le := binary.LittleEndian
	o := HeaderSize
	if iw > 0 {
		p.IDs = make([]int32, tokens)
		for i := range p.IDs {
			var id uint32
			switch iw {
			case 1:
				id = uint32(b[o])
			case 2:
				id = uint32(le.Uint16(b[o:]))
			case 4:
				id = le.Uint32(b[o:])
			}
			if id >= p.Vocab {
				return nil, fmt.Errorf("%w: id %d (batch %d, pos %d, byte %d) = %d not in [0, %d)",
					ErrMalformed, i, uint32(i)/p.Seq, uint32(i)%p.Seq, o, id, p.Vocab)
			}
			p.IDs[i] = int32(id)
			o += iw
		}
	}
	p.Data = make([]float32, values)
	switch p.DType {
	case F32:
		for i := range p.Data {
			u := le.Uint32(b[o:])
			if u&0x7f800000 == 0x7f800000 {
				return nil, fmt.Errorf("%w: %s (byte %d) is %v", ErrNonFinite, p.where(i), o, math.Float32frombits(u))
			}
			p.Data[i] = math.Float32frombits(u)
			o += 4
		}
	case BF16:
		for i := range p.Data {
			h := le.Uint16(b[o:])
			if bf16NonFinite(h) {
				return nil, fmt.Errorf("%w: %s (byte %d) is %v", ErrNonFinite, p.where(i), o, BF16ToF32(h))
			}
			p.Data[i] = BF16ToF32(h)
			o += 2
		}
	}
	return p, nil
}
