// Package cli holds x/verify's hand-written command: authorize-trainer, which sets up a
// trainer's hot key in one transaction. Autocli adds the plain commands beside it.
package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/client/tx"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/x/verify/types"
)

// TxCmd is `protolearnd tx verify`.
func TxCmd() *cobra.Command {
	cmd := &cobra.Command{Use: types.ModuleName, Short: "x/verify transactions", RunE: client.ValidateCmd}
	cmd.AddCommand(authorizeTrainerCmd())
	return cmd
}

func authorizeTrainerCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "authorize-trainer [hot-key-address]",
		Short: "Let a trainer's hot key attest, answer challenges, commit checkpoints and join your stage of one model for you, with fees paid by you",
		Long: `Signed by the operator (--from): grants the hot key (x/authz) MsgSubmitAttestation,
MsgCommitCheckpoint and MsgJoinStage on your behalf for stage --stage of model --model only, and
MsgRespondChallenge; a fee allowance (x/feegrant) of at most --spend-limit that pays only for those
messages sent for you through authz (not for the hot key's own); and sends it 1 unit of the fee
denom so that its account exists. The hot key holds no funds and cannot move your stake or
shares, nor join you into another model or stage; revoke with 'tx authz revoke' and
'tx feegrant revoke'. 'trainer hot-key --hot-key FILE' prints the address of a trainer's hot key.`,
		Example: `  protolearnd tx verify authorize-trainer learn1hot... --model 1 --stage 0 --from operator --spend-limit 10000000ulearn`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			clientCtx, err := client.GetClientTxContext(cmd)
			if err != nil {
				return err
			}
			hot, err := sdk.AccAddressFromBech32(args[0])
			if err != nil {
				return fmt.Errorf("hot key address %q: %w", args[0], err)
			}
			limitStr, _ := cmd.Flags().GetString("spend-limit")
			limit, err := sdk.ParseCoinsNormalized(limitStr)
			if err != nil || limit.Empty() {
				return fmt.Errorf("--spend-limit %q: want coins such as 10000000ulearn", limitStr)
			}
			validity, _ := cmd.Flags().GetDuration("validity")
			if validity <= 0 {
				return fmt.Errorf("--validity %s: must be positive", validity)
			}
			model, _ := cmd.Flags().GetUint64("model")
			if model == 0 {
				return fmt.Errorf("--model: the model whose stage the hot key works for (ids start at 1)")
			}
			stage, _ := cmd.Flags().GetUint32("stage")
			var budget sdk.Coin
			if disputes, _ := cmd.Flags().GetBool("disputes"); disputes {
				b, _ := cmd.Flags().GetString("dispute-budget")
				if budget, err = sdk.ParseCoinNormalized(b); err != nil || !budget.IsPositive() {
					return fmt.Errorf("--dispute-budget %q: want a positive amount such as 100000000ulearn (two default dispute bonds)", b)
				}
			}
			msgs, err := types.AuthorizeTrainerMsgs(clientCtx.GetFromAddress(), hot, model, stage, limit, limit[0].Denom, time.Now().Add(validity), budget)
			if err != nil {
				return err
			}
			return tx.GenerateOrBroadcastTxCLI(clientCtx, cmd.Flags(), msgs...)
		},
	}
	cmd.Flags().String("spend-limit", "10000000"+sdk.DefaultBondDenom, "most fees the hot key may spend from your account")
	cmd.Flags().Duration("validity", 365*24*time.Hour, "how long the grants last")
	cmd.Flags().Uint64("model", 0, "the model whose stage the hot key works for (required)")
	cmd.Flags().Uint32("stage", 0, "the stage of --model the hot key works for")
	cmd.Flags().Bool("disputes", false, "also let the hot key open replay disputes on other replicas' work of this model's stage and play them (each posts dispute_bond from your account, up to --dispute-budget in all)")
	cmd.Flags().String("dispute-budget", "100000000"+sdk.DefaultBondDenom, "with --disputes: the most the hot key may post in dispute bonds, in all (won bonds come back to you, not to the grant)")
	flags.AddTxFlagsToCmd(cmd)
	return cmd
}
