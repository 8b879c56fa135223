package node

import (
	"bytes"
	"testing"

	modelstypes "github.com/protolearn/protolearn/x/models/types"
)

// A replica keeps at most maxPinned roots for forks, those of forks that train first: an
// attacker creating forks (gas only) pins no more than that, nor evicts a training fork's root.
func TestPinnedRootsAreBoundedAndPreferTrainingForks(t *testing.T) {
	root := func(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
	fork := func(id uint64, st modelstypes.ModelStatus, r byte) modelstypes.Model {
		return modelstypes.Model{Id: id, ParentId: 1, Status: st, ForkRoots: [][]byte{root(0), root(r)}}
	}
	forks := []modelstypes.Model{fork(2, modelstypes.MODEL_STATUS_TRAINING, 0xa1)}
	for i := range 20 { // an attacker's forks, each naming another root
		forks = append(forks, fork(uint64(10+i), modelstypes.MODEL_STATUS_RECRUITING, byte(0x10+i)))
	}
	forks = append(forks,
		fork(3, modelstypes.MODEL_STATUS_HALTED, 0xb1),
		fork(4, modelstypes.MODEL_STATUS_CANCELLED, 0xb2),
		fork(5, modelstypes.MODEL_STATUS_COMPLETED, 0xb3),
		fork(6, modelstypes.MODEL_STATUS_PAUSED, 0xa2),
		modelstypes.Model{Id: 7, ParentId: 1, Status: modelstypes.MODEL_STATUS_TRAINING, ForkRoots: [][]byte{root(0)}}, // no stage 1
	)
	got := pinnedRoots(forks, 1)
	if len(got) != maxPinned {
		t.Fatalf("%d roots pinned, want %d", len(got), maxPinned)
	}
	for _, want := range []byte{0xa1, 0xa2, 0x10 + 19, 0x10 + 18} { // training and paused, then the newest recruiting
		if !got[[32]byte(root(want))] {
			t.Errorf("root %x not pinned", want)
		}
	}
	for _, not := range []byte{0xb1, 0xb2, 0xb3} {
		if got[[32]byte(root(not))] {
			t.Errorf("root %x of a fork that cannot train is pinned", not)
		}
	}
}
