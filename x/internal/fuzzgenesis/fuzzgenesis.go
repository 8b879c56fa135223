// Package fuzzgenesis fuzzes a module's genesis validation. Genesis files are written by hand and
// by other binaries: any bytes must decode to an error, or to a state that Validate accepts or
// refuses with an error, never a panic.
package fuzzgenesis

import "testing"

// state is a module's GenesisState (its pointer type).
type state[T any] interface {
	*T
	Unmarshal([]byte) error
	Validate() error
}

// Run fuzzes the genesis state T from seeds (and the empty input).
func Run[T any, P state[T]](f *testing.F, seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Add([]byte{})
	f.Fuzz(func(_ *testing.T, b []byte) {
		var gs T
		p := P(&gs)
		if err := p.Unmarshal(b); err != nil {
			return
		}
		_ = p.Validate()
	})
}
