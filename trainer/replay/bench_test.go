package replay_test

import (
	"testing"

	"github.com/gomlx/compute/dtypes"

	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/trainer/boundary"
	"github.com/protolearn/protolearn/trainer/checkpoint"
	"github.com/protolearn/protolearn/trainer/internal/testreplay"
	"github.com/protolearn/protolearn/trainer/replay"
	"github.com/protolearn/protolearn/trainer/spec"
)

// BenchmarkReplay is a referee's cost per update replayed (scripts/bench-verify.sh): an update of
// stage 1 of the "small" spec (d_model 128, 2 layers, 2 sequences of 64 tokens), which is exactly
// the worker's own cost of the update; and BenchmarkStateRoot the root of the stage's state
// (weights and optimizer), taken once per replay.
func BenchmarkReplay(b *testing.B) {
	s, codec, log := benchLog(b)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		st := testreplay.Stage(b, s, 1)
		b.StartTimer()
		if _, err := replay.Run(st, codec, log); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*len(log)), "ms/update")
}

func BenchmarkStateRoot(b *testing.B) {
	s, err := spec.Preset("small")
	if err != nil {
		b.Fatal(err)
	}
	st := testreplay.Stage(b, s, 1)
	b.ResetTimer()
	for range b.N {
		if _, err := checkpoint.StateRoot(st); err != nil {
			b.Fatal(err)
		}
	}
}

func benchLog(b *testing.B) (spec.Spec, boundary.Codec, []replay.Update) {
	s, err := spec.Preset("small")
	if err != nil {
		b.Fatal(err)
	}
	codec := boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32}
	return s, codec, testreplay.Updates(b, testreplay.Stage(b, s, 1), codec, 8, 3)
}
