//go:build !xla

package backend

import (
	"errors"

	"github.com/gomlx/compute"
)

// XLA reports whether this binary was built with the XLA backend.
const XLA = false

func newXLA(string) (compute.Backend, error) {
	return nil, errors.New("this binary was built without the XLA backend: rebuild it with -tags xla (make trainer-xla; needs cgo and, at run time, a PJRT plugin)")
}
