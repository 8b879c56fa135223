// Package testbackend gives the trainer's tests one GoMLX Go backend per test
// binary, instead of a worker pool per test.
package testbackend

import (
	"sync"

	"github.com/gomlx/compute"

	"github.com/protolearn/protolearn/trainer/backend"
)

// Go is the shared Go backend (trainer/backend "go": ops_sequential mode,
// whose default mode can deadlock, docs/ALGORITHMS.md, "GoMLX backends"). It is never
// finalized; a failure to make it ends the test binary.
var Go = sync.OnceValue(func() compute.Backend {
	b, err := backend.New("go")
	if err != nil {
		panic(err)
	}
	return b
})
