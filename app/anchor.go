package app

import (
	"crypto/ecdsa"
	"fmt"

	"github.com/spf13/cast"

	"cosmossdk.io/log"

	"github.com/cosmos/cosmos-sdk/baseapp"
	"github.com/cosmos/cosmos-sdk/client/flags"
	servertypes "github.com/cosmos/cosmos-sdk/server/types"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/anchor/ethkey"
	"github.com/protolearn/protolearn/x/anchor/votes"
)

// FlagAnchorKeyFile is app.toml's [anchor] eth-key-file: the Ethereum key this validator signs
// anchor checkpoints with (relative paths are under the node's home).
const FlagAnchorKeyFile = "anchor.eth-key-file"

// setAnchorHandlers wires x/anchor's checkpoint signatures into consensus: vote extensions
// carry them, the proposal handlers inject and check them (x/anchor/votes).
func (app *App) setAnchorHandlers(appOpts servertypes.AppOptions, logger log.Logger) error {
	key, err := anchorKey(appOpts)
	if err != nil {
		return err
	}
	ext := votes.NewExtensionHandler(app.AnchorKeeper, key, logger)
	app.SetExtendVoteHandler(ext.ExtendVote)
	app.SetVerifyVoteExtensionHandler(ext.VerifyVoteExtension)
	def := baseapp.NewDefaultProposalHandler(app.Mempool(), app.BaseApp)
	ph := votes.NewProposalHandler(app.AnchorKeeper, def.PrepareProposalHandler(), def.ProcessProposalHandler(), logger)
	app.SetPrepareProposal(ph.PrepareProposal)
	app.SetProcessProposal(ph.ProcessProposal)
	return nil
}

// anchorKey loads the key app.toml names; with none named, the default file if it exists. A
// node without a key validates but signs no checkpoints.
func anchorKey(appOpts servertypes.AppOptions) (*ecdsa.PrivateKey, error) {
	home := cast.ToString(appOpts.Get(flags.FlagHome))
	file := cast.ToString(appOpts.Get(FlagAnchorKeyFile))
	if file != "" {
		key, err := ethkey.Load(ethkey.Path(home, file))
		if err != nil {
			return nil, fmt.Errorf("app.toml [anchor] eth-key-file: %w", err)
		}
		return key, nil
	}
	if home == "" {
		return nil, nil
	}
	return ethkey.LoadIfPresent(ethkey.Path(home, ""))
}

// preBlockAnchor stores the checkpoint signatures the proposer injected.
func (app *App) preBlockAnchor(ctx sdk.Context, txs [][]byte) error {
	return votes.PreBlock(ctx, app.AnchorKeeper, txs)
}
