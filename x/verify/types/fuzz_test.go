package types

import "testing"

// Genesis files are written by hand and by other binaries: any bytes decode to an error, or to
// a state that Validate accepts or refuses with an error, never a panic.
func FuzzGenesisValidate(f *testing.F) {
	good, err := DefaultGenesis().Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var gs GenesisState
		if err := gs.Unmarshal(b); err != nil {
			return
		}
		_ = gs.Validate()
	})
}
