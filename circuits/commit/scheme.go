package commit

import (
	"fmt"

	"github.com/consensys/gnark/logger"
)

func init() {
	// gnark logs compilation to stdout by default; a library must not write
	// to its host's stdout.
	logger.Disable()
}

// Scheme is everything the trainer and the circuits must agree on: the number
// format and chunking, and the hash.
type Scheme struct {
	Params Params
	Hash   Hash
}

// DefaultScheme is [DefaultParams] with [Poseidon2], chosen over MiMC and the chain by the
// measurements in circuits/README.md (fewer constraints per absorbed element
// and faster natively).
func DefaultScheme() Scheme { return Scheme{Params: DefaultParams(), Hash: Poseidon2} }

// Validate reports a scheme that cannot be used.
func (s Scheme) Validate() error {
	if s.Hash == nil {
		return fmt.Errorf("commit: scheme without a hash")
	}
	return s.Params.Validate()
}

// Layout is [NewLayout] with the scheme's parameters.
func (s Scheme) Layout(kind Kind, rows, cols int) (Layout, error) {
	return NewLayout(kind, rows, cols, s.Params)
}
