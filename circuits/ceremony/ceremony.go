// Package ceremony runs the Groth16 trusted setup of a tile shape as a
// multi-party computation (gnark's backend/groth16/bn254/mpcsetup), with the
// transcript kept as files in one directory that participants pass on:
//
//	shape.json         the shape (Init)
//	phase1-0000.bin    the initial phase-1 state (Init)
//	phase1-0001.bin …  phase-1 contributions (ContributePhase1)
//	phase1-beacon.hex  the beacon that sealed phase 1 (SealPhase1)
//	commons.bin        the sealed phase-1 parameters (SealPhase1)
//	phase2-0000.bin    the initial phase-2 state for the circuit (SealPhase1)
//	phase2-0001.bin …  phase-2 contributions (ContributePhase2)
//	proving.key        the proving key, raw ([tile.Keys.MarshalProvingKey])
//	verifying.key      the verifying key ([tile.Keys.MarshalVerifyingKey])
//
// The keys are sound if at least one contributor of each phase was honest
// and destroyed its randomness. Anyone can re-run [Verify] on the directory.
package ceremony

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark/backend/groth16/bn254/mpcsetup"
	cs "github.com/consensys/gnark/constraint/bn254"

	"github.com/protolearn/protolearn/circuits/tile"
)

// File names in a ceremony directory.
const (
	ShapeFile        = "shape.json"
	CommonsFile      = "commons.bin"
	Phase1BeaconFile = "phase1-beacon.hex"
	ProvingKeyFile   = "proving.key"
	VerifyingKeyFile = "verifying.key"
)

// MaxContributions bounds the number of contributions per phase (file names
// have four digits).
const MaxContributions = 9999

// ContributionFile is the name of contribution i (0 is the initial state) of
// phase 1 or 2.
func ContributionFile(phase, i int) string { return fmt.Sprintf("phase%d-%04d.bin", phase, i) }

// ReadShape reads the shape of a ceremony directory.
func ReadShape(dir string) (tile.Shape, error) {
	var s tile.Shape
	b, err := os.ReadFile(filepath.Join(dir, ShapeFile))
	if err != nil {
		return s, fmt.Errorf("ceremony: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, fmt.Errorf("ceremony: %s: %w", ShapeFile, err)
	}
	if err := s.Validate(); err != nil {
		return s, fmt.Errorf("ceremony: %s: %w", ShapeFile, err)
	}
	return s, nil
}

// compile compiles the shape's circuit and returns it with its FFT domain size.
func compile(s tile.Shape) (*cs.R1CS, uint64, error) {
	ccs, err := tile.Compile(s)
	if err != nil {
		return nil, 0, err
	}
	r, ok := ccs.(*cs.R1CS)
	if !ok {
		return nil, 0, fmt.Errorf("ceremony: %s: not a BN254 R1CS", s)
	}
	return r, ecc.NextPowerOfTwo(uint64(r.GetNbConstraints())), nil
}

// Init creates the transcript of shape s in dir (created if needed; it must
// not hold a transcript already): the shape and the initial phase-1 state.
func Init(dir string, s tile.Shape) error {
	if err := s.Validate(); err != nil {
		return fmt.Errorf("ceremony: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ShapeFile)); err == nil {
		return fmt.Errorf("ceremony: %s already holds a transcript", dir)
	}
	_, n, err := compile(s)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("ceremony: %w", err)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("ceremony: %w", err)
	}
	if err := writeNew(filepath.Join(dir, ShapeFile), append(b, '\n')); err != nil {
		return err
	}
	return writeObject(dir, ContributionFile(1, 0), mpcsetup.NewPhase1(n))
}

// Sealed reports whether phase 1 of the transcript in dir is sealed, i.e.
// whether the next contribution is to phase 2.
func Sealed(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, CommonsFile))
	return err == nil
}

// Contribute adds a contribution to the current phase (2 once sealed, else
// 1) and returns the phase and the name of the file written.
func Contribute(dir string) (int, string, error) {
	if Sealed(dir) {
		f, err := ContributePhase2(dir)
		return 2, f, err
	}
	f, err := ContributePhase1(dir)
	return 1, f, err
}

// ContributePhase1 reads the latest phase-1 file, adds fresh randomness
// (crypto/rand, inside gnark) and writes the next numbered file, whose name
// it returns. The contributor's randomness lives only in this process's
// memory and is gone when it returns.
func ContributePhase1(dir string) (string, error) {
	if Sealed(dir) {
		return "", errors.New("ceremony: phase 1 is sealed, contribute to phase 2")
	}
	return contributeNext(dir, 1, new(mpcsetup.Phase1))
}

// ContributePhase2 is [ContributePhase1] for phase 2.
func ContributePhase2(dir string) (string, error) {
	if !Sealed(dir) {
		return "", errors.New("ceremony: phase 1 is not sealed yet")
	}
	if _, err := os.Stat(filepath.Join(dir, VerifyingKeyFile)); err == nil {
		return "", errors.New("ceremony: the ceremony is finished")
	}
	return contributeNext(dir, 2, new(mpcsetup.Phase2))
}

// contributeNext reads phase's latest file into p, adds a contribution and writes the next
// numbered file, whose name it returns.
func contributeNext(dir string, phase int, p interface {
	io.ReaderFrom
	io.WriterTo
	Contribute()
},
) (string, error) {
	n, err := count(dir, phase)
	if err != nil {
		return "", err
	}
	if n > MaxContributions {
		return "", fmt.Errorf("ceremony: too many phase-%d contributions", phase)
	}
	if err := readObject(dir, ContributionFile(phase, n-1), p); err != nil {
		return "", err
	}
	p.Contribute()
	name := ContributionFile(phase, n)
	return name, writeObject(dir, name, p)
}

// SealPhase1 verifies every phase-1 contribution, seals phase 1 with the
// beacon (to be fixed after the last contribution, e.g. a future block
// hash) and initializes phase 2 for the shape's circuit.
func SealPhase1(dir string, beacon []byte) error {
	if Sealed(dir) {
		return errors.New("ceremony: phase 1 is already sealed")
	}
	if len(beacon) == 0 {
		return errors.New("ceremony: empty beacon")
	}
	s, err := ReadShape(dir)
	if err != nil {
		return err
	}
	r, n, err := compile(s)
	if err != nil {
		return err
	}
	commons, err := verifyPhase1(dir, n, beacon)
	if err != nil {
		return err
	}
	p2, _, err := initPhase2(s, r, &commons)
	if err != nil {
		return err
	}
	if err := writeNew(filepath.Join(dir, Phase1BeaconFile), []byte(hex.EncodeToString(beacon)+"\n")); err != nil {
		return err
	}
	if err := writeObject(dir, ContributionFile(2, 0), p2); err != nil {
		return err
	}
	// Written last: its presence marks phase 1 as sealed.
	return writeObject(dir, CommonsFile, &commons)
}

// Finish verifies every phase-2 contribution, seals phase 2 with the beacon
// (fixed after the last phase-2 contribution) and writes proving.key and
// verifying.key, which it returns as keys.
func Finish(dir string, beacon []byte) (*tile.Keys, error) {
	if !Sealed(dir) {
		return nil, errors.New("ceremony: phase 1 is not sealed")
	}
	if _, err := os.Stat(filepath.Join(dir, VerifyingKeyFile)); err == nil {
		return nil, errors.New("ceremony: already finished")
	}
	s, err := ReadShape(dir)
	if err != nil {
		return nil, err
	}
	var commons mpcsetup.SrsCommons
	if err := readObject(dir, CommonsFile, &commons); err != nil {
		return nil, err
	}
	pkb, vkb, err := phase2Keys(dir, s, &commons, beacon)
	if err != nil {
		return nil, err
	}
	if err := writeNew(filepath.Join(dir, ProvingKeyFile), pkb); err != nil {
		return nil, err
	}
	if err := writeNew(filepath.Join(dir, VerifyingKeyFile), vkb); err != nil {
		return nil, err
	}
	return tile.LoadKeys(s, pkb, vkb)
}

// Verify re-runs the whole verification of a finished transcript: phase 1
// with sealBeacon (compared with the recorded phase1-beacon.hex), the sealed
// parameters and initial phase-2 state, phase 2 with finishBeacon, and
// compares the keys it derives with proving.key and verifying.key.
func Verify(dir string, sealBeacon, finishBeacon []byte) (*tile.Keys, error) {
	s, err := ReadShape(dir)
	if err != nil {
		return nil, err
	}
	rec, err := os.ReadFile(filepath.Join(dir, Phase1BeaconFile))
	if err != nil {
		return nil, fmt.Errorf("ceremony: %w", err)
	}
	if strings.TrimSpace(string(rec)) != hex.EncodeToString(sealBeacon) {
		return nil, fmt.Errorf("ceremony: %s: phase 1 was sealed with beacon %s, not %x", Phase1BeaconFile, strings.TrimSpace(string(rec)), sealBeacon)
	}
	_, n, err := compile(s)
	if err != nil {
		return nil, err
	}
	commons, err := verifyPhase1(dir, n, sealBeacon)
	if err != nil {
		return nil, err
	}
	if err := sameBytes(dir, CommonsFile, &commons); err != nil {
		return nil, err
	}
	pkb, vkb, err := phase2Keys(dir, s, &commons, finishBeacon)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		b    []byte
	}{{ProvingKeyFile, pkb}, {VerifyingKeyFile, vkb}} {
		got, err := os.ReadFile(filepath.Join(dir, f.name))
		if err != nil {
			return nil, fmt.Errorf("ceremony: %w", err)
		}
		if !bytes.Equal(got, f.b) {
			return nil, fmt.Errorf("ceremony: %s differs from the key the transcript gives", f.name)
		}
	}
	return tile.LoadKeys(s, pkb, vkb)
}

// verifyPhase1 checks the initial state and every phase-1 contribution and
// seals phase 1 with the beacon.
func verifyPhase1(dir string, n uint64, beacon []byte) (mpcsetup.SrsCommons, error) {
	if len(beacon) == 0 {
		return mpcsetup.SrsCommons{}, errors.New("ceremony: empty beacon")
	}
	if err := sameBytes(dir, ContributionFile(1, 0), mpcsetup.NewPhase1(n)); err != nil {
		return mpcsetup.SrsCommons{}, err
	}
	k, err := count(dir, 1)
	if err != nil {
		return mpcsetup.SrsCommons{}, err
	}
	if k < 2 {
		return mpcsetup.SrsCommons{}, errors.New("ceremony: phase 1 has no contribution")
	}
	prev := mpcsetup.NewPhase1(n)
	for i := 1; i < k; i++ {
		next := new(mpcsetup.Phase1)
		if err := readObject(dir, ContributionFile(1, i), next); err != nil {
			return mpcsetup.SrsCommons{}, err
		}
		if err := prev.Verify(next); err != nil {
			return mpcsetup.SrsCommons{}, fmt.Errorf("ceremony: %s: %w", ContributionFile(1, i), err)
		}
		prev = next
	}
	return prev.Seal(beacon), nil
}

// phase2Keys verifies the phase-2 contributions (after the initial state)
// and returns the sealed keys, serialized.
func phase2Keys(dir string, s tile.Shape, commons *mpcsetup.SrsCommons, beacon []byte) (pk, vk []byte, err error) {
	if len(beacon) == 0 {
		return nil, nil, errors.New("ceremony: empty beacon")
	}
	r, _, err := compile(s)
	if err != nil {
		return nil, nil, err
	}
	k, err := count(dir, 2)
	if err != nil {
		return nil, nil, err
	}
	if k < 2 {
		return nil, nil, errors.New("ceremony: phase 2 has no contribution")
	}
	// The steps of mpcsetup.VerifyPhase2, pairwise so that an error names
	// the failing file.
	prev, ev, err := initPhase2(s, r, commons)
	if err != nil {
		return nil, nil, err
	}
	if err := sameBytes(dir, ContributionFile(2, 0), prev); err != nil {
		return nil, nil, err
	}
	contribs := make([]*mpcsetup.Phase2, 0, k-1)
	for i := 1; i < k; i++ {
		next := new(mpcsetup.Phase2)
		if err := readObject(dir, ContributionFile(2, i), next); err != nil {
			return nil, nil, err
		}
		if err := prev.Verify(next); err != nil {
			return nil, nil, fmt.Errorf("ceremony: %s: %w", ContributionFile(2, i), err)
		}
		contribs = append(contribs, next)
		prev = next
	}
	last := contribs[len(contribs)-1]
	gpk, gvk := last.Seal(commons, ev, beacon)
	keys := &tile.Keys{Shape: s, PK: gpk, VK: gvk}
	if pk, err = keys.MarshalProvingKey(); err != nil {
		return nil, nil, err
	}
	if vk, err = keys.MarshalVerifyingKey(); err != nil {
		return nil, nil, err
	}
	return pk, vk, nil
}

var (
	initMu    sync.Mutex
	initCache = map[[sha256.Size]byte]initState{}
)

type initState struct {
	p2    *mpcsetup.Phase2
	evals *mpcsetup.Phase2Evaluations
}

// initPhase2 is the initial phase-2 state of the shape's circuit for the
// sealed phase-1 parameters, and its evaluations (for sealing). It is the
// costly step (FFTs over G2), deterministic, so it is computed once per
// process for a (shape, parameters) pair; the results must not be modified.
func initPhase2(s tile.Shape, r *cs.R1CS, commons *mpcsetup.SrsCommons) (*mpcsetup.Phase2, *mpcsetup.Phase2Evaluations, error) {
	h := sha256.New()
	h.Write([]byte(s.String()))
	if _, err := commons.WriteTo(h); err != nil {
		return nil, nil, fmt.Errorf("ceremony: %w", err)
	}
	var key [sha256.Size]byte
	h.Sum(key[:0])
	initMu.Lock()
	defer initMu.Unlock()
	if st, ok := initCache[key]; ok {
		return st.p2, st.evals, nil
	}
	p2 := new(mpcsetup.Phase2)
	evals := p2.Initialize(r, commons)
	initCache[key] = initState{p2, &evals}
	return p2, &evals, nil
}

// count is the number of consecutive files phaseP-0000, 0001, … in dir; a
// gap or a stray numbered file is an error.
func count(dir string, phase int) (int, error) {
	names, err := filepath.Glob(filepath.Join(dir, fmt.Sprintf("phase%d-*.bin", phase)))
	if err != nil {
		return 0, fmt.Errorf("ceremony: %w", err)
	}
	for i := range names {
		if filepath.Base(names[i]) != ContributionFile(phase, i) {
			return 0, fmt.Errorf("ceremony: %s: unexpected file, expected %s", filepath.Base(names[i]), ContributionFile(phase, i))
		}
	}
	if len(names) == 0 {
		return 0, fmt.Errorf("ceremony: %s: missing", ContributionFile(phase, 0))
	}
	return len(names), nil
}

// readObject reads one object from a file, all of it and only it.
func readObject(dir, name string, v io.ReaderFrom) error {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return fmt.Errorf("ceremony: %w", err)
	}
	r := bytes.NewReader(b)
	if _, err := v.ReadFrom(r); err != nil {
		return fmt.Errorf("ceremony: %s: malformed: %w", name, err)
	}
	if r.Len() != 0 {
		return fmt.Errorf("ceremony: %s: %d trailing bytes", name, r.Len())
	}
	return nil
}

// sameBytes checks that the file holds exactly the serialization of v.
func sameBytes(dir, name string, v io.WriterTo) error {
	var b bytes.Buffer
	if _, err := v.WriteTo(&b); err != nil {
		return fmt.Errorf("ceremony: %s: %w", name, err)
	}
	got, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return fmt.Errorf("ceremony: %w", err)
	}
	if !bytes.Equal(got, b.Bytes()) {
		return fmt.Errorf("ceremony: %s: does not match the state recomputed from the previous steps", name)
	}
	return nil
}

func writeObject(dir, name string, v io.WriterTo) error {
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	if _, err := v.WriteTo(w); err != nil {
		return fmt.Errorf("ceremony: %s: %w", name, err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("ceremony: %s: %w", name, err)
	}
	return writeNew(filepath.Join(dir, name), b.Bytes())
}

// writeNew writes a file that must not exist, through a temporary file and
// a rename so that a crash leaves no partial file.
func writeNew(path string, b []byte) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("ceremony: %s already exists", filepath.Base(path))
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("ceremony: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("ceremony: %w", err)
	}
	return nil
}
