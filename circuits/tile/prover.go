package tile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/consensys/gnark-crypto/ecc"
	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/consensys/gnark/backend/groth16"
	groth16bn254 "github.com/consensys/gnark/backend/groth16/bn254"
	"github.com/consensys/gnark/constraint"
	"github.com/consensys/gnark/frontend"
	"github.com/consensys/gnark/frontend/cs/r1cs"

	"github.com/protolearn/protolearn/circuits/commit"
)

const (
	// ProofSize is the length of every tile proof: a compressed Groth16
	// proof on BN254 (A, B, C: 128 bytes) plus one BSB22 commitment of the
	// range checker (a 4-byte count, the commitment and its proof of
	// knowledge: 68 bytes). Verify refuses any other length.
	ProofSize = 196
	// VerifyingKeySize is the length of every tile verifying key
	// (compressed), the same for all shapes: six public inputs and one
	// commitment. Verify refuses any other length.
	VerifyingKeySize = 688
	// nbPublic is the number of public inputs: three roots, row, block,
	// binding.
	nbPublic = 6
)

var (
	compiledMu sync.Mutex
	compiled   = map[Shape]constraint.ConstraintSystem{}
)

// Compile compiles the circuit of a shape once per process (cached): the
// standard shapes take seconds to minutes and GBs, so a trainer should keep
// the result.
func Compile(s Shape) (constraint.ConstraintSystem, error) {
	compiledMu.Lock()
	defer compiledMu.Unlock()
	if ccs, ok := compiled[s]; ok {
		return ccs, nil
	}
	c, err := NewCircuit(s)
	if err != nil {
		return nil, err
	}
	ccs, err := frontend.Compile(ecc.BN254.ScalarField(), r1cs.NewBuilder, c)
	if err != nil {
		return nil, fmt.Errorf("tile: compile %s: %w", s, err)
	}
	compiled[s] = ccs
	return ccs, nil
}

// Keys are the compiled circuit and the Groth16 keys of one shape, what the
// trainer needs to prove.
type Keys struct {
	Shape Shape
	CCS   constraint.ConstraintSystem
	PK    groth16.ProvingKey
	VK    groth16.VerifyingKey
}

// TestSetup runs gnark's single-party Groth16 setup. It is randomized and
// whoever runs it knows the toxic waste, so it is for tests and localnets
// only: production keys come from the phase-2 ceremony
// (backend/groth16/bn254/mpcsetup) and are loaded with [LoadKeys].
func TestSetup(s Shape) (*Keys, error) {
	ccs, err := Compile(s)
	if err != nil {
		return nil, err
	}
	pk, vk, err := groth16.Setup(ccs)
	if err != nil {
		return nil, fmt.Errorf("tile: setup %s: %w", s, err)
	}
	return &Keys{Shape: s, CCS: ccs, PK: pk, VK: vk}, nil
}

// MarshalVerifyingKey is the compressed verifying key, the bytes that go in
// the chain's params.
func (k *Keys) MarshalVerifyingKey() ([]byte, error) {
	var b bytes.Buffer
	if _, err := k.VK.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("tile: write verifying key: %w", err)
	}
	return b.Bytes(), nil
}

// MarshalProvingKey is the proving key uncompressed (fast to load).
func (k *Keys) MarshalProvingKey() ([]byte, error) {
	var b bytes.Buffer
	if _, err := k.PK.WriteRawTo(&b); err != nil {
		return nil, fmt.Errorf("tile: write proving key: %w", err)
	}
	return b.Bytes(), nil
}

// LoadKeys reads a shape's keys (from [Keys.MarshalProvingKey] and
// [Keys.MarshalVerifyingKey], or from the ceremony), compiling the circuit,
// and checks them against each other and the circuit's size.
func LoadKeys(s Shape, pkBytes, vkBytes []byte) (*Keys, error) {
	ccs, err := Compile(s)
	if err != nil {
		return nil, err
	}
	vk, err := ParseVerifyingKey(vkBytes)
	if err != nil {
		return nil, err
	}
	pk := groth16.NewProvingKey(ecc.BN254)
	r := bytes.NewReader(pkBytes)
	if _, err := pk.ReadFrom(r); err != nil {
		return nil, fmt.Errorf("tile: proving key: %w", err)
	}
	if r.Len() != 0 {
		return nil, fmt.Errorf("tile: proving key: %d trailing bytes", r.Len())
	}
	bpk := pk.(*groth16bn254.ProvingKey)
	if bpk.Domain.Cardinality < uint64(ccs.GetNbConstraints()) {
		return nil, fmt.Errorf("tile: proving key for a domain of %d, circuit %s has %d constraints", bpk.Domain.Cardinality, s, ccs.GetNbConstraints())
	}
	// Keys of an earlier version of the circuit under the same shape name must not load:
	// their proofs would all fail. The wire count changes with any change of the witness.
	if internal, secret, public := ccs.GetNbVariables(); len(bpk.InfinityA) != internal+secret+public {
		return nil, fmt.Errorf("tile: proving key for %d wires, circuit %s has %d: keys of another version of the circuit (run setup again)",
			len(bpk.InfinityA), s, internal+secret+public)
	}
	if !vk.vk.G1.Beta.Equal(&bpk.G1.Beta) || !vk.vk.G1.Delta.Equal(&bpk.G1.Delta) {
		return nil, errors.New("tile: proving and verifying keys are not a pair")
	}
	return &Keys{Shape: s, CCS: ccs, PK: pk, VK: vk.vk}, nil
}

// Prove proves the openings with the keys of their shape and returns the
// compressed proof ([ProofSize] bytes). It checks the tolerance natively
// first, so an output out of tolerance is named rather than failing the
// solver.
func Prove(o *Openings, k *Keys) ([]byte, error) {
	if o.Shape != k.Shape {
		return nil, fmt.Errorf("tile: openings of shape %s, keys of %s", o.Shape, k.Shape)
	}
	if err := o.Check(); err != nil {
		return nil, err
	}
	a, err := o.Assignment()
	if err != nil {
		return nil, err
	}
	w, err := frontend.NewWitness(a, ecc.BN254.ScalarField())
	if err != nil {
		return nil, fmt.Errorf("tile: witness: %w", err)
	}
	proof, err := groth16.Prove(k.CCS, k.PK, w)
	if err != nil {
		return nil, fmt.Errorf("tile: prove %s (row %d, block %d): %w", o.Shape, o.Row, o.Col, err)
	}
	var b bytes.Buffer
	if _, err := proof.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("tile: write proof: %w", err)
	}
	if b.Len() != ProofSize {
		return nil, fmt.Errorf("tile: proof of %d bytes, expected %d", b.Len(), ProofSize)
	}
	return b.Bytes(), nil
}

// VerifyingKey is a parsed, checked verifying key; parsing costs about as
// much as verifying, so the chain should keep it.
type VerifyingKey struct{ vk *groth16bn254.VerifyingKey }

// ParseVerifyingKey decodes a compressed verifying key strictly: exactly
// [VerifyingKeySize] bytes with the length prefixes of a tile key, points on
// the curve and in the subgroup (gnark's checked decoder), no trailing bytes,
// six public inputs and one commitment.
func ParseVerifyingKey(b []byte) (*VerifyingKey, error) {
	if len(b) != VerifyingKeySize {
		return nil, fmt.Errorf("tile: verifying key of %d bytes, expected %d", len(b), VerifyingKeySize)
	}
	// Every length prefix of the encoding is fixed for a tile key: 8 K
	// points (one, six public inputs, one commitment), one empty list of
	// committed public inputs, one commitment key. Checking them first keeps
	// a forged count from making the decoder allocate.
	const kAt, kEnd = 288, 292 + 32*(1+nbPublic+1)
	if !bytes.Equal(b[kAt:kAt+4], []byte{0, 0, 0, 1 + nbPublic + 1}) || !bytes.Equal(b[kEnd:kEnd+12], []byte{0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}) {
		return nil, errors.New("tile: verifying key is not for six public inputs and one commitment (a key of an older circuit version?)")
	}
	vk := new(groth16bn254.VerifyingKey)
	r := bytes.NewReader(b)
	if _, err := vk.ReadFrom(r); err != nil {
		return nil, fmt.Errorf("tile: verifying key: %w", err)
	}
	if r.Len() != 0 {
		return nil, fmt.Errorf("tile: verifying key: %d trailing bytes", r.Len())
	}
	// K holds one point for the constant one, one per public input and one
	// per commitment.
	if len(vk.G1.K) != 1+nbPublic+1 || len(vk.CommitmentKeys) != 1 {
		return nil, fmt.Errorf("tile: verifying key with %d K points and %d commitments, expected %d and 1",
			len(vk.G1.K), len(vk.CommitmentKeys), 1+nbPublic+1)
	}
	return &VerifyingKey{vk: vk}, nil
}

// Verify is [ParseVerifyingKey] then [VerifyingKey.Verify]: what the chain
// calls with the registered key, the proof from the message, and the public
// inputs from its own state.
func Verify(vkBytes, proofBytes []byte, pub PublicInputs) error {
	vk, err := ParseVerifyingKey(vkBytes)
	if err != nil {
		return err
	}
	return vk.Verify(proofBytes, pub)
}

// Verify checks a proof against public inputs rebuilt from the typed fields
// (never from a client-supplied witness). The proof must be exactly
// [ProofSize] bytes, hold exactly one commitment (checked before decoding, so
// a forged count cannot make the decoder allocate), decode with subgroup
// checks, and leave no trailing byte. The result depends only on the
// arguments; gnark's goroutines end before it returns.
func (vk *VerifyingKey) Verify(proofBytes []byte, pub PublicInputs) error {
	if len(proofBytes) != ProofSize {
		return fmt.Errorf("tile: proof of %d bytes, expected %d", len(proofBytes), ProofSize)
	}
	if n := binary.BigEndian.Uint32(proofBytes[128:132]); n != 1 {
		return fmt.Errorf("tile: proof with %d commitments, expected 1", n)
	}
	proof := new(groth16bn254.Proof)
	r := bytes.NewReader(proofBytes)
	if _, err := proof.ReadFrom(r); err != nil {
		return fmt.Errorf("tile: proof: %w", err)
	}
	if r.Len() != 0 {
		return fmt.Errorf("tile: proof: %d trailing bytes", r.Len())
	}
	w, err := pub.vector()
	if err != nil {
		return err
	}
	if err := groth16bn254.Verify(proof, vk.vk, w); err != nil {
		return fmt.Errorf("tile: proof does not verify for roots %x/%x/%x, row %d, block %d, binding %x (a proof answers one challenge of one worker's step): %w",
			pub.InRoot[:4], pub.WRoot[:4], pub.OutRoot[:4], pub.Row, pub.Col, pub.Binding[:4], err)
	}
	return nil
}

// vector is the public witness in the circuit's order: InRoot, WRoot,
// OutRoot, Row, Col, Binding. A non-canonical root or binding is refused.
func (p PublicInputs) vector() (fr.Vector, error) {
	w := make(fr.Vector, nbPublic)
	for i, b := range [][32]byte{p.InRoot, p.WRoot, p.OutRoot} {
		e, err := commit.ParseRoot(b[:])
		if err != nil {
			return nil, fmt.Errorf("tile: %s root: %w", [...]string{"input", "weight", "output"}[i], err)
		}
		w[i] = e
	}
	w[3].SetUint64(p.Row)
	w[4].SetUint64(p.Col)
	e, err := commit.ParseRoot(p.Binding[:])
	if err != nil {
		return nil, fmt.Errorf("tile: binding: %w", err)
	}
	w[5] = e
	return w, nil
}
