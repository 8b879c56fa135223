package shares

import (
	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"

	"github.com/protolearn/protolearn/x/internal/govcli"
	"github.com/protolearn/protolearn/x/shares/types"
)

// AutoCLIOptions generates `protolearnd tx shares …` and `protolearnd query shares …`.
func (am AppModule) AutoCLIOptions() *autocliv1.ModuleOptions {
	return &autocliv1.ModuleOptions{
		Query: &autocliv1.ServiceCommandDescriptor{
			Service: types.Query_serviceDesc.ServiceName,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "Params", Use: "params", Short: "Show the x/shares parameters"},
				{
					RpcMethod: "Ownership", Use: "ownership [holder]", Short: "A holder's shares, fraction of supply and claimable revenue, per model",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "holder"}},
				},
				{
					RpcMethod: "Holders", Use: "holders [model-id]", Short: "A model's share holders, largest first",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "model_id"}},
				},
				{
					RpcMethod: "Revenue", Use: "revenue [model-id]", Short: "A model's revenue: paid, fees, claimed, outstanding, dust",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "model_id"}},
				},
			},
		},
		Tx: &autocliv1.ServiceCommandDescriptor{
			Service: types.Msg_serviceDesc.ServiceName,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{
					RpcMethod: "PayRevenue", Use: "pay-revenue [model-id] [amount] [reference]",
					Short: "Pay inference revenue to a model's share holders (after the protocol fee)",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{
						{ProtoField: "model_id"}, {ProtoField: "amount"}, {ProtoField: "reference", Optional: true},
					},
				},
				{
					RpcMethod: "ClaimRevenue", Use: "claim-revenue [model-id...]",
					Short:          "Claim the revenue you are owed (from every model when none is named)",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "model_ids", Varargs: true}},
				},
				govcli.UpdateParamsProposal("shares"),
			},
		},
	}
}
