// Package backend makes the GoMLX compute backend a trainer's stages run on:
// GoMLX's pure-Go CPU backend, in every build, or XLA through a PJRT plugin
// (GPUs), in binaries built with the xla build tag (`make trainer-xla`; it
// needs cgo, so the default build and `make test` never depend on it).
package backend

import (
	"fmt"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/gobackend"
)

// Names lists the accepted backend names for flags and errors.
const Names = "go, xla[:PLUGIN[,OPTIONS]]"

// New makes the backend name describes:
//
//   - "go" (or ""): GoMLX's pure-Go backend in its ops_sequential mode (its
//     default mode can deadlock when the large matmuls share the worker pool
//     with the ops; docs/ALGORITHMS.md, "GoMLX backends"). Build with GOEXPERIMENT=simd for
//     its vectorized kernels.
//   - "xla" or "xla:CONFIG": XLA/PJRT, CONFIG as go-xla takes it: a plugin
//     name ("cpu", "cuda") or the absolute path of a PJRT plugin .so, then
//     comma-separated options, e.g. "xla:/opt/jax_plugins/xla_cuda13/
//     xla_cuda_plugin.so,preallocate=false". Only in binaries built with
//     -tags xla.
func New(name string) (compute.Backend, error) {
	kind, config, _ := strings.Cut(name, ":")
	switch kind {
	case "", "go":
		if config != "" {
			return nil, fmt.Errorf("backend %q: the go backend takes no configuration", name)
		}
		b, err := gobackend.New("ops_sequential")
		if err != nil {
			return nil, fmt.Errorf("backend go: %w", err)
		}
		return b, nil
	case "xla":
		b, err := newXLA(config)
		if err != nil {
			return nil, fmt.Errorf("backend %s: %w", name, err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("backend %q: accepted values: %s", name, Names)
}
