package types

import (
	"testing"

	"github.com/protolearn/protolearn/x/internal/fuzzgenesis"
)

// Genesis validation never panics on any bytes (x/internal/fuzzgenesis).
func FuzzGenesisValidate(f *testing.F) {
	good, err := DefaultGenesis().Marshal()
	if err != nil {
		f.Fatal(err)
	}
	fuzzgenesis.Run[GenesisState](f, good)
}
