package attest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Store keeps the quantized layers of attested steps on disk until their attestations are
// final: what the trainer needs to recommit and open any challenged tile. Files are written to a
// temporary name and renamed, so a crash never leaves a torn layer behind.
//
// Layers wait in a spool, by the attester's own sequence number, until the submitter sends them:
// then they become the layers of the chain steps they were committed for, or, where the chain
// wants other numbers, are committed again under those.
type Store struct{ dir string }

// storeMagic starts every layer file (and versions its format).
const storeMagic = "PLLAYER2"

// OpenStore opens (creating) the directory dir.
func OpenStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("attest: layer store %s: %w", dir, err)
	}
	return &Store{dir: dir}, nil
}

func (s *Store) path(step uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("step-%020d.layer", step))
}

func (s *Store) spoolPath(seq uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("spool-%020d.layer", seq))
}

func (s *Store) doubtPath(step uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("doubt-%020d.layer", step))
}

// Doubt sets the stored layer of step aside as in doubt: a previous process sent the
// attestation holding it and stopped before it knew whether the chain took it, which it may
// still do. The step's number is free for new layers; the set-aside one answers challenges of
// the attestation if it lands (LoadDoubt) until DeleteDoubt.
func (s *Store) Doubt(step uint64) error {
	if err := os.Rename(s.path(step), s.doubtPath(step)); err != nil {
		return fmt.Errorf("attest: setting layer %d aside: %w", step, err)
	}
	return nil
}

// LoadDoubt reads the layer of step set aside by Doubt.
func (s *Store) LoadDoubt(step uint64) (*Layer, error) { return s.load(s.doubtPath(step), step, true) }

// DeleteDoubt removes the layer of step set aside by Doubt.
func (s *Store) DeleteDoubt(step uint64) error { return s.remove(s.doubtPath(step)) }

// Doubted lists the steps whose layers are set aside, ascending.
func (s *Store) Doubted() ([]uint64, error) { return s.list("doubt-") }

func (s *Store) movingPath(step uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("moving-%020d.layer", step))
}

// Save writes l, replacing any earlier layer of its step.
func (s *Store) Save(l *Layer) error { return s.save(l, s.path(l.Step)) }

// Spool writes l, committed under the step number l.Step that the attester expects it to get,
// as spooled layer seq: not attested yet.
func (s *Store) Spool(seq uint64, l *Layer) error { return s.save(l, s.spoolPath(seq)) }

// Promote makes spooled layer seq the stored layer of its step (the step it was spooled with). It
// never replaces a stored layer: that one may be a pending attestation's.
func (s *Store) Promote(seq, step uint64) error {
	if _, err := os.Stat(s.path(step)); err == nil {
		return fmt.Errorf("attest: step %d already has a stored layer; spooled layer %d not stored over it", step, seq)
	}
	if err := os.Rename(s.spoolPath(seq), s.path(step)); err != nil {
		return fmt.Errorf("attest: storing spooled layer %d as step %d: %w", seq, step, err)
	}
	return nil
}

// Unspool reads spooled layer seq and removes it from the spool.
func (s *Store) Unspool(seq uint64) (*Layer, error) {
	l, err := s.load(s.spoolPath(seq), 0, false)
	if err != nil {
		return nil, err
	}
	return l, s.remove(s.spoolPath(seq))
}

// DropLeftovers removes what a stopped process left that no attestation can need: spooled
// layers (never attested), layers caught between the two phases of a Move, and torn writes.
func (s *Store) DropLeftovers() error {
	for _, prefix := range []string{"spool-", "moving-", ".tmp-layer-"} {
		if err := s.removeAll(prefix); err != nil {
			return err
		}
	}
	return nil
}

// Move gives the stored layers of steps from…from+n−1 the numbers to…to+n−1, in two phases (all
// to temporary names, then to their new names) so that overlapping ranges lose nothing. visit
// sees each layer under its new number before it is written (the attester re-commits it there).
func (s *Store) Move(from, to uint64, n int, visit func(*Layer) error) error {
	for i := range uint64(n) {
		l, err := s.Load(from + i)
		if err != nil {
			return err
		}
		l.Step = to + i
		if err := visit(l); err != nil {
			return err
		}
		if err := s.save(l, s.movingPath(l.Step)); err != nil {
			return err
		}
		if err := s.remove(s.path(from + i)); err != nil {
			return err
		}
	}
	for i := range uint64(n) {
		if err := os.Rename(s.movingPath(to+i), s.path(to+i)); err != nil {
			return fmt.Errorf("attest: moving layer %d: %w", to+i, err)
		}
	}
	return nil
}

func (s *Store) remove(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func (s *Store) removeAll(prefix string) error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			if err := s.remove(filepath.Join(s.dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Store) save(l *Layer, dst string) error {
	p := scheme().Params
	if p.ValueBits > 16 {
		return fmt.Errorf("attest: store holds 16-bit values, scheme has %d", p.ValueBits)
	}
	f, err := os.CreateTemp(s.dir, ".tmp-layer-*")
	if err != nil {
		return fmt.Errorf("attest: saving step %d: %w", l.Step, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	hdr := make([]byte, 0, len(storeMagic)+24)
	hdr = append(hdr, storeMagic...)
	hdr = binary.BigEndian.AppendUint64(hdr, l.Step)
	hdr = binary.BigEndian.AppendUint64(hdr, uint64(l.Rows))
	hdr = binary.BigEndian.AppendUint64(hdr, uint64(l.D))
	buf := hdr
	for _, t := range [][]int64{l.X, l.W, l.Y, l.DY, l.DX} {
		for _, v := range t {
			buf = binary.BigEndian.AppendUint16(buf, uint16(int16(v)))
		}
	}
	buf = appendTail(buf, l)
	if _, err := f.Write(buf); err != nil {
		f.Close()
		return fmt.Errorf("attest: saving step %d: %w", l.Step, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("attest: saving step %d: %w", l.Step, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("attest: saving step %d: %w", l.Step, err)
	}
	return os.Rename(tmp, dst)
}

// ErrNoLayer is returned by Load for a step the store does not hold.
var ErrNoLayer = errors.New("attest: no stored layer for step")

// Load reads the layer of step.
func (s *Store) Load(step uint64) (*Layer, error) { return s.load(s.path(step), step, true) }

// load reads a layer file, checking, if check, that it is step's.
func (s *Store) load(path string, step uint64, check bool) (*Layer, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w %d in %s", ErrNoLayer, step, s.dir)
	}
	if err != nil {
		return nil, err
	}
	if len(b) < len(storeMagic)+24 || string(b[:len(storeMagic)]) != storeMagic {
		return nil, fmt.Errorf("attest: %s is not a layer file", path)
	}
	h := b[len(storeMagic):]
	l := &Layer{Step: binary.BigEndian.Uint64(h), Rows: int(binary.BigEndian.Uint64(h[8:])), D: int(binary.BigEndian.Uint64(h[16:]))}
	body := h[24:]
	n := []int{l.Rows * l.D, l.D * l.D, l.Rows * l.D, l.Rows * l.D, l.Rows * l.D}
	total := 0
	for _, k := range n {
		total += k
	}
	if (check && l.Step != step) || l.Rows <= 0 || l.D <= 0 || len(body) < 2*total {
		return nil, fmt.Errorf("attest: %s: header says step %d, %d×%d, body %d bytes: %w", path, l.Step, l.Rows, l.D, len(body), io.ErrUnexpectedEOF)
	}
	dst := []*[]int64{&l.X, &l.W, &l.Y, &l.DY, &l.DX}
	for i, k := range n {
		t := make([]int64, k)
		for j := range t {
			t[j] = int64(int16(binary.BigEndian.Uint16(body[2*j:])))
		}
		body = body[2*k:]
		*dst[i] = t
	}
	if err := readTail(body, l); err != nil {
		return nil, fmt.Errorf("attest: %s: %w", path, err)
	}
	return l, nil
}

// Steps lists the stored steps in order.
func (s *Store) Steps() ([]uint64, error) { return s.list("step-") }

// list is the steps of the layer files named prefix<step>.layer, ascending.
func (s *Store) list(prefix string) ([]uint64, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var steps []uint64
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, ".layer") {
			continue
		}
		v, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, prefix), ".layer"), 10, 64)
		if err == nil {
			steps = append(steps, v)
		}
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i] < steps[j] })
	return steps, nil
}

// Delete removes the layers of steps from..to (both included) that are stored.
func (s *Store) Delete(from, to uint64) error {
	steps, err := s.Steps()
	if err != nil {
		return err
	}
	for _, st := range steps {
		if st >= from && st <= to {
			if err := os.Remove(s.path(st)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// appendTail writes what a layer keeps beside its values, after them: the input payload (its
// length, then its bytes), then stage 0's draw: the microbatch, the embedding's vocabulary and
// rank, the token ids (their count, then each) and the embedding (vocab × rank 32-bit values).
func appendTail(buf []byte, l *Layer) []byte {
	be := binary.BigEndian
	buf = be.AppendUint64(buf, uint64(len(l.Input)))
	buf = append(buf, l.Input...)
	buf = be.AppendUint64(buf, l.Microbatch)
	buf = be.AppendUint32(buf, uint32(l.Vocab))
	buf = be.AppendUint32(buf, uint32(l.Rank))
	buf = be.AppendUint64(buf, uint64(len(l.IDs)))
	for _, id := range l.IDs {
		buf = be.AppendUint32(buf, uint32(id))
	}
	for _, v := range l.E {
		buf = be.AppendUint32(buf, uint32(int32(v)))
	}
	return buf
}

// readTail reads what appendTail wrote; b must hold exactly that.
func readTail(b []byte, l *Layer) error {
	be := binary.BigEndian
	short := fmt.Errorf("a truncated tail: %w", io.ErrUnexpectedEOF)
	if len(b) < 8 {
		return short
	}
	n := be.Uint64(b)
	b = b[8:]
	if uint64(len(b)) < n+24 {
		return short
	}
	if n > 0 {
		l.Input = append([]byte(nil), b[:n]...)
	}
	b = b[n:]
	l.Microbatch, l.Vocab, l.Rank = be.Uint64(b), int(be.Uint32(b[8:])), int(be.Uint32(b[12:]))
	ids := be.Uint64(b[16:])
	b = b[24:]
	values := uint64(l.Vocab) * uint64(l.Rank)
	if uint64(len(b)) != 4*(ids+values) {
		return fmt.Errorf("a tail of %d bytes for %d ids and %d embedding values: %w", len(b), ids, values, io.ErrUnexpectedEOF)
	}
	if ids > 0 {
		l.IDs = make([]int32, ids)
		for i := range l.IDs {
			l.IDs[i] = int32(be.Uint32(b[4*i:]))
		}
		b = b[4*ids:]
	}
	if values > 0 {
		l.E = make([]int64, values)
		for i := range l.E {
			l.E[i] = int64(int32(be.Uint32(b[4*i:])))
		}
	}
	return nil
}
