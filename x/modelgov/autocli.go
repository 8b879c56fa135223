package modelgov

import (
	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"

	"github.com/protolearn/protolearn/x/internal/govcli"
	"github.com/protolearn/protolearn/x/modelgov/types"
)

// AutoCLIOptions generates `protolearnd query modelgov …` and the chain-governance command;
// propose and vote are hand-written (client/cli).
func (am AppModule) AutoCLIOptions() *autocliv1.ModuleOptions {
	return &autocliv1.ModuleOptions{
		Query: &autocliv1.ServiceCommandDescriptor{
			Service: types.Query_serviceDesc.ServiceName,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "Params", Use: "params", Short: "Show the x/modelgov parameters: voting period, quorum, thresholds, deposit"},
				{
					RpcMethod: "Proposal", Use: "proposal [proposal-id]", Short: "A proposal: its action, status, voting end and final tally",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "proposal_id"}},
				},
				{
					RpcMethod: "Proposals", Use: "proposals", Short: "List proposals newest first (--model-id, --status)",
					FlagOptions: map[string]*autocliv1.FlagOptions{
						"model_id": {Name: "model-id", Usage: "only this model's proposals (0: every model's)"},
						"status":   {Usage: "only proposals of this status (e.g. PROPOSAL_STATUS_VOTING)"},
					},
				},
				{
					RpcMethod: "Votes", Use: "votes [proposal-id]", Short: "The votes on a proposal in its voting period, with each voter's power",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "proposal_id"}},
				},
				{
					RpcMethod: "Tally", Use: "tally [proposal-id]", Short: "A proposal's tally: live while it votes, final after",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "proposal_id"}},
				},
				{
					RpcMethod: "VotingPower", Use: "voting-power [proposal-id] [holder]", Short: "What a holder's vote on a proposal weighs: its shares when the proposal opened",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "proposal_id"}, {ProtoField: "holder"}},
				},
			},
		},
		Tx: &autocliv1.ServiceCommandDescriptor{
			Service:              types.Msg_serviceDesc.ServiceName,
			EnhanceCustomCommand: true,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "Propose", Skip: true},
				{RpcMethod: "Vote", Skip: true},
				govcli.UpdateParamsProposal("modelgov"),
			},
		},
	}
}
