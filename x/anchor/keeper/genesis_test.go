package keeper_test

import (
	"testing"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/ethereum/go-ethereum/common"

	"github.com/protolearn/protolearn/x/anchor/types"
)

// learnPrefixes sets the app's bech32 prefixes, which genesis validation reads.
func learnPrefixes() {
	c := sdk.GetConfig()
	c.SetBech32PrefixForAccount("learn", "learnpub")
	c.SetBech32PrefixForValidator("learnvaloper", "learnvaloperpub")
}

// A genesis whose checkpoints reach the heights the chain would take its own at (a non-zero
// height export restarted at height 1) is refused: the new checkpoints would be stale to the
// contract, and would overwrite signed ones at the same heights. (An attacker review's proof
// of concept.)
func TestGenesisRefusesCheckpointsAhead(t *testing.T) {
	learnPrefixes()
	f := newFixture(t)
	hs := holders(3, 9)
	for i := range 3 {
		f.set(t, hs[i], int64(100+i))
		f.checkpoint(t)
	}
	gs, err := f.k.ExportGenesis(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := gs.Validate(); err != nil {
		t.Fatal(err)
	}
	g := newFixture(t)
	if err := g.k.InitGenesis(g.ctx.WithBlockHeight(1), gs); err == nil {
		t.Fatal("a genesis with checkpoints up to height 3 loaded at height 1 (offset 0)")
	}
	// At the height after the export, or after a zero-height export's offset, it loads.
	h := newFixture(t)
	if err := h.k.InitGenesis(h.ctx.WithBlockHeight(4), gs); err != nil {
		t.Fatalf("the export restarted at its next height: %v", err)
	}
	gs.HeightOffset = 3
	z := newFixture(t)
	if err := z.k.InitGenesis(z.ctx.WithBlockHeight(1), gs); err != nil {
		t.Fatalf("a zero-height export: %v", err)
	}
}

// Genesis checkpoints are checked against themselves: signed power without the signatures
// behind it, a signature of another checkpoint, a hash that is not the checkpoint's, and a
// signing set that is not the one handed over are refused. (An attacker review's proof of
// concept.)
func TestGenesisChecksCheckpoints(t *testing.T) {
	f := twoCheckpoints(t)
	for name, mutate := range map[string]func(gs *types.GenesisState){
		"signed power without signatures": func(gs *types.GenesisState) {
			gs.Checkpoints[0].Signatures = nil
			gs.Checkpoints[0].SignedPower = gs.Checkpoints[0].SigningTotal
		},
		"a hash that is not the checkpoint's": func(gs *types.GenesisState) { gs.Checkpoints[1].Hash[0] ^= 1 },
		"a signing set that was not handed over": func(gs *types.GenesisState) {
			gs.Checkpoints[1].SigningTotal++
		},
		"a checkpoint moved to another contract": func(gs *types.GenesisState) {
			gs.Checkpoints[1].Deployment = types.NewDeployment(1, common.HexToAddress("0x00000000000000000000000000000000000000a1"))
		},
		"a deployment with a chain id and no address": func(gs *types.GenesisState) {
			gs.Params.Deployment = types.Deployment{EthereumChainId: 1}
		},
		"a deployment with an address and no chain id": func(gs *types.GenesisState) {
			gs.Params.Deployment = types.Deployment{ContractAddress: "0x00000000000000000000000000000000000000A1"}
		},
		"a deployment at an address not checksummed": func(gs *types.GenesisState) {
			gs.Params.Deployment = types.Deployment{EthereumChainId: 1, ContractAddress: "0x52908400098527886e0f7030069857d2e4169ee7"}
		},
		"a deployment at the zero address": func(gs *types.GenesisState) {
			gs.Params.Deployment = types.Deployment{EthereumChainId: 1, ContractAddress: "0x0000000000000000000000000000000000000000"}
		},
	} {
		gs, err := f.k.ExportGenesis(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := gs.Validate(); err != nil {
			t.Fatalf("%s: the export itself: %v", name, err)
		}
		mutate(gs)
		if err := gs.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A first genesis (no anchor_chain_id yet, so Validate cannot check the checkpoints' hashes)
// whose checkpoint was moved to another deployment, its signatures over the old hash, is
// refused at InitGenesis once the chain id is known: it would be relayed to a contract that
// refuses it, and nothing newer taken (an attacker review's proof of concept).
func TestInitGenesisChecksHashesWithTheChainID(t *testing.T) {
	f := twoCheckpoints(t)
	gs, err := f.k.ExportGenesis(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	gs.AnchorChainId = ""
	g := newFixture(t)
	if err := g.k.InitGenesis(g.ctx.WithBlockHeight(10), gs); err != nil {
		t.Fatalf("the checkpoints as exported: %v", err)
	}
	d := types.NewDeployment(1, common.HexToAddress("0x00000000000000000000000000000000000000a1"))
	gs.Params.Deployment = d
	gs.Checkpoints[1].Deployment = d
	if err := gs.Validate(); err != nil {
		t.Fatalf("Validate cannot see it without the chain id, yet refused: %v", err)
	}
	g = newFixture(t)
	if err := g.k.InitGenesis(g.ctx.WithBlockHeight(10), gs); err == nil {
		t.Fatal("a checkpoint whose hash is not its own imported")
	}
}

// twoCheckpoints is a fixture that took two checkpoints, a holder's balance moved before each.
func twoCheckpoints(t *testing.T) *fixture {
	t.Helper()
	learnPrefixes()
	f := newFixture(t)
	hs := holders(2, 11)
	f.set(t, hs[0], 1)
	f.checkpoint(t)
	f.set(t, hs[1], 1)
	f.checkpoint(t)
	return f
}
