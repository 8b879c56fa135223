package replaylog_test

import (
	"testing"

	"github.com/gomlx/compute/dtypes"

	"github.com/protolearn/protolearn/payload"
	"github.com/protolearn/protolearn/trainer/boundary"
	"github.com/protolearn/protolearn/trainer/internal/testreplay"
	"github.com/protolearn/protolearn/trainer/replaylog"
	"github.com/protolearn/protolearn/trainer/spec"
)

// BenchmarkLog is a worker's cost of keeping its replay log (scripts/bench-verify.sh), on stage
// 1 of the "small" spec (d_model 128, 2 layers, 2 sequences of 64 tokens): a snapshot (the
// whole state serialized, its root, written to disk; one per attestation_period steps) and an
// update recorded (its input and gradient payloads written), with the bytes each adds to disk.
func BenchmarkLog(b *testing.B) {
	s, err := spec.Preset("small")
	if err != nil {
		b.Fatal(err)
	}
	codec := boundary.Codec{Spec: s, Wire: payload.F32, Engine: dtypes.Float32}
	st := testreplay.Stage(b, s, 1)
	ups := testreplay.Updates(b, st, codec, 8, 3)
	b.Run("snapshot", func(b *testing.B) {
		log, err := replaylog.Open(b.TempDir(), 1<<40, 2)
		if err != nil {
			b.Fatal(err)
		}
		defer log.Close()
		for range b.N {
			if err := log.Start(st, 0, nil); err != nil {
				b.Fatal(err)
			}
		}
		seg, err := log.Segment(0)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(seg)), "bytes/snapshot")
	})
	b.Run("update", func(b *testing.B) {
		log, err := replaylog.Open(b.TempDir(), 1<<40, 2)
		if err != nil {
			b.Fatal(err)
		}
		defer log.Close()
		if err := log.Start(st, 0, nil); err != nil {
			b.Fatal(err)
		}
		before, _ := log.Segment(0)
		b.ResetTimer()
		for i := range b.N {
			if err := log.Updated(st, ups[i%len(ups)]); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		after, _ := log.Segment(0)
		b.ReportMetric(float64(len(after)-len(before))/float64(b.N), "bytes/update")
	})
}
