package replaylog_test

import (
	"testing"

	"github.com/protolearn/protolearn/trainer/replaylog"
)

// A replay log comes from the worker a referee audits: any bytes decode to an error or to
// segments, never a panic, and a decoded segment's head folds.
func FuzzDecodeBundle(f *testing.F) {
	f.Add([]byte{})
	f.Add(append([]byte{4, 0, 0, 0, 0, 0, 0, 0}, []byte("PLR4")...))
	f.Fuzz(func(t *testing.T, b []byte) {
		segs, _, err := replaylog.DecodeBundle(b)
		if err != nil {
			return
		}
		for _, s := range segs {
			_ = s.End()
		}
		_, _ = replaylog.Decode(b)
	})
}
