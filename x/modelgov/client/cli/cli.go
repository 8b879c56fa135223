// Package cli holds x/modelgov's hand-written transaction commands: one propose command per
// action (autocli cannot fill a nested message from positional arguments) and vote with plain
// yes/no/abstain. Autocli adds the queries and update-params-proposal beside them.
package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/client/tx"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/modelgov/types"
	modelstypes "github.com/protolearn/protolearn/x/models/types"
)

// TxCmd is `protolearnd tx modelgov`.
func TxCmd() *cobra.Command {
	cmd := &cobra.Command{Use: types.ModuleName, Short: "x/modelgov transactions: a model's holders propose and vote", RunE: client.ValidateCmd}
	cmd.AddCommand(proposeCmd(), voteCmd())
	return cmd
}

func proposeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "propose",
		Short: "Propose an action on a model you hold shares of (escrows the deposit: refunded at quorum, burned without)",
		RunE:  client.ValidateCmd,
	}
	simple := func(use, short string, t types.ActionType) *cobra.Command {
		return actionCmd(use+" [model-id]", short, 1, func([]string) (types.Action, error) { return types.Action{Type: t}, nil })
	}
	cmd.AddCommand(
		simple("pause", "Pause a training or completed model: no seats, work, checkpoints or paid inference until resumed", types.ACTION_TYPE_PAUSE),
		simple("resume", "Resume a paused model", types.ACTION_TYPE_RESUME),
		simple("halt", "Halt a model for good (a supermajority): seats released, its trainers delete their weights", types.ACTION_TYPE_HALT),
		actionCmd("price [model-id] [per-1k-tokens]", "Set the model's inference price per 1,000 tokens (0ulearn takes it off sale); its designer may no longer change it", 2,
			func(args []string) (types.Action, error) {
				price, err := sdk.ParseCoinNormalized(args[1])
				if err != nil {
					return types.Action{}, fmt.Errorf("price %q: want an amount such as 2000ulearn: %w", args[1], err)
				}
				return types.Action{Type: types.ACTION_TYPE_SET_PRICE, PricePer_1KTokens: price}, nil
			}),
		actionCmd("economics [model-id] [designer-bps] [max-replicas-per-stage] [min-stake]",
			"Set the model's designer cut (for work finalizing after), replica limit and stake floor, all three", 4,
			func(args []string) (types.Action, error) {
				bps, err := strconv.ParseUint(args[1], 10, 32)
				if err != nil {
					return types.Action{}, fmt.Errorf("designer-bps %q: want 0 to 10000", args[1])
				}
				replicas, err := strconv.ParseUint(args[2], 10, 32)
				if err != nil {
					return types.Action{}, fmt.Errorf("max-replicas-per-stage %q: want a positive number", args[2])
				}
				stake, err := sdk.ParseCoinNormalized(args[3])
				if err != nil {
					return types.Action{}, fmt.Errorf("min-stake %q: want an amount such as 1000000ulearn: %w", args[3], err)
				}
				return types.Action{
					Type: types.ACTION_TYPE_SET_ECONOMICS, DesignerBps: uint32(bps), MaxReplicasPerStage: uint32(replicas), MinStake: stake,
				}, nil
			}),
		actionCmd("approve-fork [model-id] [fork-model-id]", "Let a fork of the model, awaiting its holders' approval, recruit", 2,
			func(args []string) (types.Action, error) {
				fork, err := strconv.ParseUint(args[1], 10, 64)
				if err != nil || fork == 0 {
					return types.Action{}, fmt.Errorf("fork-model-id %q: want a model id (from 1)", args[1])
				}
				return types.Action{Type: types.ACTION_TYPE_APPROVE_FORK, ForkModelId: fork}, nil
			}),
		actionCmd("fork-policy [model-id] [needs-approval] [min-parent-bps]",
			"Set what the model asks of its forks from now on: whether its holders approve each, and the least royalty (bps of the fork's revenue)", 3,
			func(args []string) (types.Action, error) {
				approve, err := strconv.ParseBool(args[1])
				if err != nil {
					return types.Action{}, fmt.Errorf("needs-approval %q: want true or false", args[1])
				}
				bps, err := strconv.ParseUint(args[2], 10, 32)
				if err != nil {
					return types.Action{}, fmt.Errorf("min-parent-bps %q: want 0 to 10000", args[2])
				}
				return types.Action{Type: types.ACTION_TYPE_SET_FORK_POLICY, ForkPolicy: modelstypes.ForkPolicy{NeedsApproval: approve, MinParentBps: uint32(bps)}}, nil
			}),
	)
	return cmd
}

func actionCmd(use, short string, nargs int, action func([]string) (types.Action, error)) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(nargs),
		RunE: func(cmd *cobra.Command, args []string) error {
			clientCtx, err := client.GetClientTxContext(cmd)
			if err != nil {
				return err
			}
			model, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil || model == 0 {
				return fmt.Errorf("model-id %q: want a model id (from 1)", args[0])
			}
			a, err := action(args)
			if err != nil {
				return err
			}
			summary, _ := cmd.Flags().GetString("summary")
			msg := &types.MsgPropose{Proposer: clientCtx.GetFromAddress().String(), ModelId: model, Action: a, Summary: summary}
			if err := msg.Action.ValidateBasic(); err != nil {
				return err
			}
			return tx.GenerateOrBroadcastTxCLI(clientCtx, cmd.Flags(), msg)
		},
	}
	cmd.Flags().String("summary", "", "why: shown to the voters (at most 1,000 bytes)")
	flags.AddTxFlagsToCmd(cmd)
	return cmd
}

func voteCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "vote [proposal-id] [yes|no|abstain]",
		Short:   "Vote on a proposal of a model you held shares of when it opened (a later vote replaces yours)",
		Example: "  protolearnd tx modelgov vote 1 yes --from holder",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			clientCtx, err := client.GetClientTxContext(cmd)
			if err != nil {
				return err
			}
			id, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("proposal-id %q: want a number", args[0])
			}
			option, ok := map[string]types.VoteOption{
				"yes": types.VOTE_OPTION_YES, "no": types.VOTE_OPTION_NO, "abstain": types.VOTE_OPTION_ABSTAIN,
			}[strings.ToLower(args[1])]
			if !ok {
				return fmt.Errorf("option %q: vote yes, no or abstain", args[1])
			}
			return tx.GenerateOrBroadcastTxCLI(clientCtx, cmd.Flags(), &types.MsgVote{
				Voter: clientCtx.GetFromAddress().String(), ProposalId: id, Option: option,
			})
		},
	}
	flags.AddTxFlagsToCmd(cmd)
	return cmd
}
