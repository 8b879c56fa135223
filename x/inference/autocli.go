package inference

import (
	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"

	"github.com/protolearn/protolearn/x/inference/types"
	"github.com/protolearn/protolearn/x/internal/govcli"
)

// AutoCLIOptions generates `protolearnd tx inference …` and `protolearnd query inference …`.
// Settling receipts takes JSON (tx inference settle --receipts), as a gateway submits them.
func (am AppModule) AutoCLIOptions() *autocliv1.ModuleOptions {
	return &autocliv1.ModuleOptions{
		Query: &autocliv1.ServiceCommandDescriptor{
			Service: types.Query_serviceDesc.ServiceName,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "Params", Use: "params", Short: "Show the x/inference parameters"},
				{
					RpcMethod: "Price", Use: "price [model-id]", Short: "A model's price per 1,000 tokens and the serving workers' part",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "model_id"}},
				},
				{
					RpcMethod: "Deposit", Use: "deposit [deposit-id]", Short: "A deposit: its balance, what it spent, its price and when it expires",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "deposit_id"}},
				},
				{
					RpcMethod: "Deposits", Use: "deposits [customer]", Short: "A customer's deposits",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "customer"}},
				},
				{
					RpcMethod: "Settled", Use: "settled [deposit-id] [request-id]", Short: "How many tokens of a request have been settled",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "deposit_id"}, {ProtoField: "request_id"}},
				},
				{
					RpcMethod: "Usage", Use: "usage [model-id]", Short: "A model's inference so far: tokens, requests, paid, serving, revenue",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "model_id"}},
				},
			},
		},
		Tx: &autocliv1.ServiceCommandDescriptor{
			Service: types.Msg_serviceDesc.ServiceName,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{
					RpcMethod: "SetPrice", Use: "set-price [model-id] [per-1k-tokens]", Short: "Set your model's price per 1,000 tokens (0 takes it off sale)",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "model_id"}, {ProtoField: "per_1k_tokens"}},
				},
				{
					RpcMethod: "Deposit", Use: "deposit [model-id] [amount]",
					Short:          "Escrow a payment for a model's inference at its current price",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "model_id"}, {ProtoField: "amount"}},
					FlagOptions: map[string]*autocliv1.FlagOptions{
						"spender": {Usage: "the compressed secp256k1 public key (33 bytes, hex or base64) that signs the deposit's receipts: a gateway's you authorise (default: your own key)"},
						"blocks":  {Usage: "how many blocks the deposit is held: receipts settle until then, and you may withdraw after (0: min_deposit_blocks)"},
						"max_price_per_1k_tokens": {
							Name: "max-price-per-1k-tokens", Usage: "refuse the deposit if the model's price per 1,000 tokens is above this (e.g. 2000ulearn)",
						},
					},
				},
				{
					RpcMethod: "Settle", Use: "settle", Short: "Settle signed receipts against their deposits (--receipts as JSON)",
				},
				{
					RpcMethod: "Withdraw", Use: "withdraw [deposit-id]", Short: "Take back what is left of an expired deposit",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "deposit_id"}},
				},
				govcli.UpdateParamsProposal("inference"),
			},
		},
	}
}
