//go:build xla

package backend

import (
	"github.com/gomlx/compute"
	"github.com/gomlx/go-xla/compute/xla"
)

// XLA reports whether this binary was built with the XLA backend.
const XLA = true

// newXLA loads the PJRT plugin config names ("" is go-xla's default, the
// CPU plugin). Set GOMLX_NO_AUTO_INSTALL=1 on machines without internet
// access, or go-xla tries to download a missing plugin.
func newXLA(config string) (compute.Backend, error) {
	return xla.New(config)
}
