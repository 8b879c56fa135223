package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A real node signs share checkpoints through CometBFT vote extensions: the validator creates
// its anchor key, registers it over the CLI, a checkpoint is taken and signed within a few
// blocks, and share-proof prints the holder's balance with the verifyShares calldata.
func TestAnchorCheckpointSignedInVoteExtensions(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain")
	}
	const funds = "1000000000000ulearn"
	n := startNodeWith(t, map[string]string{"validator": funds, "designer": funds, "holder": funds + ",5000000share/1"}, nil, func(n *node, gen map[string]any) {
		genesisModelForShares(n, gen)
		app := gen["app_state"].(map[string]any)
		app["anchor"].(map[string]any)["params"].(map[string]any)["anchor_interval"] = "3"
		abci := gen["consensus"].(map[string]any)["params"].(map[string]any)["abci"].(map[string]any)
		require.Equal(t, "1", abci["vote_extensions_enable_height"], "init enables vote extensions")
		out := n.must("anchor", "init-key")
		require.Contains(t, out, "anchor key 0x")
	})
	code, log := n.tx("tx", "anchor", "set-key", "--from", "validator")
	require.Zero(t, code, log)

	var cp struct {
		Checkpoint struct {
			Height     string `json:"height"`
			Signatures []any  `json:"signatures"`
		} `json:"checkpoint"`
		Ready bool `json:"ready"`
	}
	deadline := time.Now().Add(60 * time.Second)
	for !cp.Ready {
		require.False(t, time.Now().After(deadline), "no signed checkpoint within 60 s: %+v", cp)
		time.Sleep(300 * time.Millisecond)
		out, err := n.run(true, "query", "anchor", "checkpoint", "--node", "tcp://"+n.rpc, "--output", "json")
		if err != nil {
			continue // none taken yet
		}
		require.NoError(t, json.Unmarshal([]byte(out), &cp), out)
	}
	require.Len(t, cp.Checkpoint.Signatures, 1)

	out := n.must("query", "anchor", "share-proof", "1", n.addr("holder"), "--node", "tcp://"+n.rpc)
	var proof struct {
		Balance  string `json:"balance"`
		Calldata string `json:"calldata"`
		Height   uint64 `json:"checkpoint_height"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &proof), out)
	require.Equal(t, "5000000", proof.Balance)
	require.True(t, strings.HasPrefix(proof.Calldata, "0x"), out)
	require.NotZero(t, proof.Height)
}
