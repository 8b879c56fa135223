package chain

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	sdkmath "cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"

	modelstypes "github.com/protolearn/protolearn/x/models/types"
)

// forkSeat is who a parent's replica gives its stage's weights to: the attacks on it.
func TestForkSeatServesOnlyTheForksSeatedReplicaOfTheStage(t *testing.T) {
	stake := func(n int64) sdk.Coin { return sdk.NewCoin("ulearn", sdkmath.NewInt(n)) }
	root := func(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
	parent := modelstypes.Model{Id: 1, MinStake: stake(100), Status: modelstypes.MODEL_STATUS_TRAINING}
	fork := func(id uint64, status modelstypes.ModelStatus, roots ...[]byte) modelstypes.Model {
		return modelstypes.Model{Id: id, ParentId: 1, Status: status, ForkRoots: roots}
	}
	rosters := map[uint64][]modelstypes.Replica{
		2: {{PeerId: "honest", Bonded: stake(100)}, {PeerId: "cheap", Bonded: stake(99)}, {PeerId: "otherdenom", Bonded: sdk.NewCoin("uatom", sdkmath.NewInt(1000))}},
		3: {{PeerId: "halted-replica", Bonded: stake(500)}},
		4: {{PeerId: "waiting", Bonded: stake(500)}},
		5: {{PeerId: "grandchild", Bonded: stake(500)}},
	}
	forks := []modelstypes.Model{
		fork(2, modelstypes.MODEL_STATUS_TRAINING, root(0xa0), root(0xa1)),
		fork(3, modelstypes.MODEL_STATUS_HALTED, root(0xa0), root(0xa1)),
		fork(4, modelstypes.MODEL_STATUS_AWAITING_APPROVAL, root(0xa0), root(0xa1)),
		{Id: 5, ParentId: 2, Status: modelstypes.MODEL_STATUS_TRAINING, ForkRoots: [][]byte{root(0xa0), root(0xa1)}}, // a fork of the fork
	}
	roster := func(id uint64) ([]modelstypes.Replica, error) { return rosters[id], nil }

	line := []modelstypes.Model{parent}
	got, err := forkSeat(line, forks, 1, root(0xa1), "honest", roster)
	if err != nil || got != 2 {
		t.Fatalf("the fork's seated replica: %d, %v", got, err)
	}
	for _, tc := range []struct {
		name  string
		stage uint32
		root  []byte
		peer  string
		want  string
	}{
		{"a root no fork names", 1, root(0xff), "honest", "no fork of model 1"},
		{"another stage's root", 1, root(0xa0), "honest", "no fork of model 1"},
		{"a stage beyond the fork's", 7, root(0xa1), "honest", "no fork of model 1"},
		{"a peer seated in no fork", 1, root(0xa1), "stranger", "holds stage 1 of no fork"},
		{"a replica bonding less than the parent's floor", 1, root(0xa1), "cheap", "less than"},
		{"a replica bonding another denom", 1, root(0xa1), "otherdenom", "less than"},
		{"a halted fork's replica", 1, root(0xa1), "halted-replica", "holds stage 1 of no fork"},
		{"an unapproved fork's replica", 1, root(0xa1), "waiting", "holds stage 1 of no fork"},
		{"a grandchild's replica (not a direct fork)", 1, root(0xa1), "grandchild", "holds stage 1 of no fork"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := forkSeat(line, forks, tc.stage, tc.root, tc.peer, roster); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
	// The chain's error reaches the server (which then refuses).
	boom := errors.New("node down")
	if _, err := forkSeat(line, forks, 1, root(0xa1), "honest", func(uint64) ([]modelstypes.Replica, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	// A halted parent's weights go to nobody (its replicas are deleting them).
	halted := parent
	halted.Status = modelstypes.MODEL_STATUS_HALTED
	if _, err := forkSeat([]modelstypes.Model{halted}, forks, 1, root(0xa1), "honest", roster); err == nil || !strings.Contains(err.Error(), "HALTED") {
		t.Fatalf("a halted parent's weights served: %v", err)
	}
	// A model above the parent with a higher floor raises it: a fork of a fork bonded at the
	// fork's floor does not get the family's weights cheaper.
	grand := modelstypes.Model{Id: 0x99, MinStake: stake(200), Status: modelstypes.MODEL_STATUS_COMPLETED}
	if _, err := forkSeat([]modelstypes.Model{parent, grand}, forks, 1, root(0xa1), "honest", roster); err == nil || !strings.Contains(err.Error(), "less than the 200ulearn") {
		t.Fatalf("the line's highest floor not applied: %v", err)
	}
}
