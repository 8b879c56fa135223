package e2e

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/stretchr/testify/require"

	"github.com/protolearn/protolearn/node/registry"
	trainernode "github.com/protolearn/protolearn/trainer/node"
	"github.com/protolearn/protolearn/trainer/spec"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
	sharestypes "github.com/protolearn/protolearn/x/shares/types"
)

// The ownership registry from the CLI, as an operator, a designer and a customer use it: a
// 3-stage model, three providers seated one per stage, a second stage refused to one of them; and
// revenue on a model whose shares come from genesis (x/verify, which mints them for verified work,
// is not there yet), split in exact proportion, with a bank send moving only future revenue.
func TestModelsAndSharesOverCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain")
	}
	const funds = "1000000000000ulearn"
	n := startNodeWith(t, map[string]string{
		"validator": funds, "designer": funds, "customer": funds, "friend": funds,
		"p1": funds + ",3000000share/1", "p2": funds + ",1000000share/1", "p3": funds,
	}, nil, genesisModelForShares)
	n.registerWorkers("p1", "p2", "p3")
	code, log := n.tx(createModelArgs("tiny-llama", `{"vocab":256,"d_model":64,"n_layers":6,"n_heads":4,"seq_len":128,"compression_rank":8}`, "42", "1000", strings.Repeat("ab", 32))...)
	require.Zero(t, code, log)
	for stage, p := range []string{"p1", "p2", "p3"} {
		code, log = n.tx("tx", "models", "join-stage", "2", []string{"0", "1", "2"}[stage], "--from", p)
		require.Zero(t, code, log)
	}
	var model struct {
		Model struct {
			Status string `json:"status"`
		} `json:"model"`
	}
	require.NoError(t, json.Unmarshal([]byte(n.must("query", "models", "model", "2", "--node", "tcp://"+n.rpc, "--output", "json")), &model))
	require.Equal(t, "MODEL_STATUS_TRAINING", model.Model.Status, "every stage has a replica")

	// The unextractability rule: p1 holds stage 0, so stage 1 is refused, with a reason.
	code, log = n.tx("tx", "models", "join-stage", "2", "1", "--from", "p1")
	require.Equal(t, modelstypes.ErrOneStagePerModel.ABCICode(), code, log)
	require.Contains(t, log, "stage 0")

	pay := func() {
		t.Helper()
		code, log := n.tx("tx", "shares", "pay-revenue", "1", "10000ulearn", "inv-1", "--from", "customer")
		require.Zero(t, code, log)
	}
	claimable := func(key string) string {
		t.Helper()
		var own struct {
			Ownerships []struct {
				Claimable struct {
					Amount string `json:"amount"`
				} `json:"claimable"`
			} `json:"ownerships"`
		}
		out := n.must("query", "shares", "ownership", n.addr(key), "--node", "tcp://"+n.rpc, "--output", "json")
		require.NoError(t, json.Unmarshal([]byte(out), &own), out)
		if len(own.Ownerships) == 0 {
			return "0"
		}
		return own.Ownerships[0].Claimable.Amount
	}
	code, log = n.tx("tx", "shares", "pay-revenue", "2", "10000ulearn", "--from", "customer")
	require.Equal(t, sharestypes.ErrNoShares.ABCICode(), code, "model 2 has no shares yet: %s", log)

	pay() // 9,500 after the 5% fee: p1 3/4, p2 1/4
	require.Equal(t, "7125", claimable("p1"))
	require.Equal(t, "2375", claimable("p2"))
	code, log = n.tx("tx", "bank", "send", "p1", n.addr("friend"), "1500000share/1", "--from", "p1")
	require.Zero(t, code, log)
	require.Equal(t, "7125", claimable("p1"), "past revenue stays with the sender")
	require.Equal(t, "0", claimable("friend"))
	pay() // p1 and friend 3/8 each, p2 1/4
	require.Equal(t, "10687", claimable("p1"))
	require.Equal(t, "3562", claimable("friend"))
	require.Equal(t, "4750", claimable("p2"))

	code, log = n.tx("tx", "shares", "claim-revenue", "--from", "friend")
	require.Zero(t, code, log)
	require.Equal(t, "0", claimable("friend"))
	code, log = n.tx("tx", "shares", "claim-revenue", "1", "--from", "friend")
	require.Equal(t, sharestypes.ErrNothingToClaim.ABCICode(), code, log)

	// The chain's description in the cosmos chain-registry's formats, from the live chain: what
	// the web app suggests to Keplr. It fits the registry's schemas and names every token.
	dir := t.TempDir()
	n.must("registry", "--node", "tcp://"+n.rpc, "--out", dir, "--rest-address", "http://"+n.rest, "--grpc-address", n.grpc)
	b, err := os.ReadFile(filepath.Join(dir, "chain.json"))
	require.NoError(t, err)
	chain, err := registry.DecodeChain(b)
	require.NoError(t, err)
	require.NoError(t, chain.Validate())
	require.Equal(t, chainID, chain.ChainID)
	require.Equal(t, "learn", chain.Bech32Prefix)
	require.Equal(t, "ulearn", chain.Staking.StakingTokens[0].Denom)
	require.Equal(t, "http://"+n.rest, chain.APIs.REST[0].Address)
	b, err = os.ReadFile(filepath.Join(dir, "assetlist.json"))
	require.NoError(t, err)
	assets, err := registry.DecodeAssetList(b)
	require.NoError(t, err)
	require.NoError(t, assets.Validate())
	bases := map[string]string{}
	for _, a := range assets.Assets {
		bases[a.Base] = a.Display
	}
	require.Equal(t, "LEARN", bases["ulearn"])
	require.Equal(t, "SHARE-1", bases["share/1"], "every model's shares: %v", bases)
}

// genesisModelForShares puts model 1 in genesis: x/shares refuses shares of unknown models.
func genesisModelForShares(n *node, gen map[string]any) {
	models := gen["app_state"].(map[string]any)["models"].(map[string]any)
	models["models"] = []any{map[string]any{
		"id": "1", "designer": n.addr("designer"), "name": "genesis-model",
		"arch":   map[string]any{"vocab": 256, "d_model": 64, "n_layers": 2, "n_heads": 4, "seq_len": 64, "compression_rank": 4},
		"stages": []any{map[string]any{"layers": 1}, map[string]any{"layers": 1}},
		"seed":   "1", "dataset_commitment": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "subspace_root": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "designer_bps": 0,
		"min_stake":              map[string]any{"denom": "ulearn", "amount": "100000000"},
		"max_replicas_per_stage": 2, "target_work_units": "10", "status": "MODEL_STATUS_RECRUITING",
	}}
	models["next_model_id"] = "2"
}

// registerWorkers registers each key as a CPU worker staking 100 LEARN.
func (n *node) registerWorkers(keys ...string) map[string]crypto.PrivKey {
	n.t.Helper()
	hardware := `{"accelerator":"cpu","memory_gib":8,"bandwidth_mbps":100}`
	peers := map[string]crypto.PrivKey{}
	for _, k := range keys {
		pk, _, err := crypto.GenerateEd25519Key(nil)
		require.NoError(n.t, err)
		id, err := peer.IDFromPrivateKey(pk)
		require.NoError(n.t, err)
		code, log := n.tx("tx", "compute", "register-worker", id.String(), "100000000ulearn", "--hardware", hardware, "--from", k)
		require.Zero(n.t, code, log)
		peers[k] = pk
	}
	return peers
}

// createModelArgs is the designer's create-model tx of a 3-stage model of two layers a stage,
// 2 microbatches a step; dataset is the hex dataset_commitment. The subspace root is the one
// the arch and seed give (trainer subspace-root).
func createModelArgs(name, arch, seed, targetWork, dataset string) []string {
	args := []string{
		"tx", "models", "create-model", name, "--arch", arch,
		"--stages", `{"layers":2}`, "--stages", `{"layers":2}`, "--stages", `{"layers":2}`,
		"--seed", seed, "--dataset-commitment", dataset, "--designer-bps", "1000",
		"--min-stake", "100000000ulearn", "--max-replicas-per-stage", "2", "--target-work-units", targetWork,
		"--microbatches-per-step", "2", "--from", "designer",
	}
	if root := subspaceRoot(arch, seed); root != "" {
		args = append(args, "--subspace-root", root)
	}
	return args
}

// subspaceRoot is the hex root of the compression tables of a compressed arch and seed, ""
// for an uncompressed one (or an arch that does not parse: create-model then says why).
func subspaceRoot(arch, seed string) string {
	var a modelstypes.Architecture
	s, err := strconv.ParseUint(seed, 10, 64)
	if err != nil || json.Unmarshal([]byte(arch), &a) != nil || a.CompressionRank >= a.DModel {
		return ""
	}
	t, err := trainernode.SubspaceTables(spec.Spec{Vocab: int(a.Vocab), DModel: int(a.DModel), CompressionRank: int(a.CompressionRank), Seed: s})
	if err != nil {
		return ""
	}
	r := t.Root()
	return hex.EncodeToString(r[:])
}
