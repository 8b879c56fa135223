// Package cli holds x/anchor's hand-written commands: set-key (it signs a proof of possession
// with the validator's Ethereum key file) and share-proof (hex output and calldata for
// ShareAnchor.verifyShares). Autocli adds the plain commands beside them.
package cli

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/client/tx"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/protolearn/protolearn/x/anchor/bindings"
	"github.com/protolearn/protolearn/x/anchor/ethkey"
	"github.com/protolearn/protolearn/x/anchor/merkle"
	"github.com/protolearn/protolearn/x/anchor/types"
)

// FlagEthKeyFile names the validator's Ethereum key file.
const FlagEthKeyFile = "eth-key-file"

// TxCmd is `protolearnd tx anchor`.
func TxCmd() *cobra.Command {
	cmd := &cobra.Command{Use: types.ModuleName, Short: "x/anchor transactions", RunE: client.ValidateCmd}
	cmd.AddCommand(setKeyCmd())
	return cmd
}

// QueryCmd is `protolearnd query anchor`.
func QueryCmd() *cobra.Command {
	cmd := &cobra.Command{Use: types.ModuleName, Short: "x/anchor queries", RunE: client.ValidateCmd}
	cmd.AddCommand(shareProofCmd())
	return cmd
}

func setKeyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "set-key",
		Short: "Register (or rotate) the Ethereum key your validator signs anchor checkpoints with",
		Long: `Signs a proof of possession with the key file and registers the key's address for the
validator whose operator is --from. The same file must be the node's anchor key
(app.toml [anchor] eth-key-file, default ` + ethkey.DefaultFile + `) for the node to sign.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			clientCtx, err := client.GetClientTxContext(cmd)
			if err != nil {
				return err
			}
			file, _ := cmd.Flags().GetString(FlagEthKeyFile)
			key, err := ethkey.Load(ethkey.Path(clientCtx.HomeDir, file))
			if err != nil {
				return err
			}
			op := sdk.ValAddress(clientCtx.GetFromAddress())
			msg, err := types.NewMsgSetAnchorKey(clientCtx.ChainID, op.String(), op, key)
			if err != nil {
				return err
			}
			return tx.GenerateOrBroadcastTxCLI(clientCtx, cmd.Flags(), msg)
		},
	}
	cmd.Flags().String(FlagEthKeyFile, "", "the Ethereum key file (hex); relative paths are under --home (default "+ethkey.DefaultFile+")")
	flags.AddTxFlagsToCmd(cmd)
	return cmd
}

// ShareProofJSON is share-proof's output: verifyShares' arguments in hex, and its calldata.
type ShareProofJSON struct {
	CheckpointHeight uint64   `json:"checkpoint_height"`
	ModelsRoot       string   `json:"models_root"`
	ModelID          uint64   `json:"model_id"`
	Holder           string   `json:"holder"`
	Balance          string   `json:"balance"`
	HolderProof      []string `json:"holder_proof"`
	ModelRoot        string   `json:"model_root"`
	ModelProof       []string `json:"model_proof"`
	// Calldata is the ABI-encoded verifyShares call, for eth_call against the contract.
	Calldata string `json:"calldata"`
}

func shareProofCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "share-proof [model-id] [holder]",
		Short: "What a holder passes to ShareAnchor.verifyShares, as of the latest checkpoint",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			clientCtx, err := client.GetClientQueryContext(cmd)
			if err != nil {
				return err
			}
			model, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("model id %q: %w", args[0], err)
			}
			res, err := types.NewQueryClient(clientCtx).ShareProof(cmd.Context(), &types.QueryShareProofRequest{ModelId: model, Holder: args[1]})
			if err != nil {
				return err
			}
			out, err := ShareProofOutput(res)
			if err != nil {
				return err
			}
			bz, err := json.MarshalIndent(out, "", "  ")
			if err != nil {
				return err
			}
			// Always JSON: the output is meant for scripts and Ethereum tools.
			_, err = fmt.Fprintln(cmd.OutOrStdout(), string(bz))
			return err
		},
	}
	flags.AddQueryFlagsToCmd(cmd)
	return cmd
}

// ShareProofOutput converts the query's answer to hex and packs the verifyShares calldata.
func ShareProofOutput(res *types.QueryShareProofResponse) (ShareProofJSON, error) {
	hp, err := Hashes(res.HolderProof)
	if err != nil {
		return ShareProofJSON{}, fmt.Errorf("holder proof: %w", err)
	}
	mp, err := Hashes(res.ModelProof)
	if err != nil {
		return ShareProofJSON{}, fmt.Errorf("model proof: %w", err)
	}
	parsed, err := bindings.ShareAnchorMetaData.GetAbi()
	if err != nil {
		return ShareProofJSON{}, err
	}
	balance := res.Balance.BigInt()
	if balance == nil {
		balance = new(big.Int)
	}
	data, err := parsed.Pack("verifyShares", res.ModelId, res.HolderBytes, balance, hp, common.BytesToHash(res.ModelRoot), mp)
	if err != nil {
		return ShareProofJSON{}, fmt.Errorf("pack verifyShares: %w", err)
	}
	out := ShareProofJSON{
		CheckpointHeight: res.CheckpointHeight, ModelsRoot: hexutil.Encode(res.ModelsRoot), ModelID: res.ModelId,
		Holder: hexutil.Encode(res.HolderBytes), Balance: balance.String(), ModelRoot: hexutil.Encode(res.ModelRoot),
		HolderProof: []string{}, ModelProof: []string{}, Calldata: hexutil.Encode(data),
	}
	for _, h := range hp {
		out.HolderProof = append(out.HolderProof, hexutil.Encode(h[:]))
	}
	for _, h := range mp {
		out.ModelProof = append(out.ModelProof, hexutil.Encode(h[:]))
	}
	return out, nil
}

// Hashes converts a proof to the contract's bytes32[].
func Hashes(bs [][]byte) ([][32]byte, error) {
	out := make([][32]byte, len(bs))
	for i, b := range bs {
		if len(b) != len(merkle.Hash{}) {
			return nil, fmt.Errorf("proof element %d is %d bytes, want 32", i, len(b))
		}
		copy(out[i][:], b)
	}
	return out, nil
}
