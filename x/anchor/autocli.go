package anchor

import (
	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"

	"github.com/protolearn/protolearn/x/anchor/types"
	"github.com/protolearn/protolearn/x/internal/govcli"
)

// AutoCLIOptions generates the plain commands of `protolearnd tx anchor …` and
// `protolearnd query anchor …` beside the hand-written ones (client/cli).
func (am AppModule) AutoCLIOptions() *autocliv1.ModuleOptions {
	return &autocliv1.ModuleOptions{
		Query: &autocliv1.ServiceCommandDescriptor{
			Service:              types.Query_serviceDesc.ServiceName,
			EnhanceCustomCommand: true,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "Params", Use: "params", Short: "Show the x/anchor parameters"},
				{RpcMethod: "AnchorKeys", Use: "keys", Short: "The validators' registered Ethereum keys"},
				{RpcMethod: "Valset", Use: "valset", Short: "The validator set the next checkpoint would commit"},
				{
					RpcMethod: "Checkpoint", Use: "checkpoint [height]", Short: "A checkpoint with its signatures (the latest when height is 0 or left out)",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "height", Optional: true}},
				},
				{RpcMethod: "Checkpoints", Use: "checkpoints", Short: "The stored checkpoints, newest first"},
				{RpcMethod: "ShareProof", Skip: true}, // client/cli prints it in hex, with calldata
			},
		},
		Tx: &autocliv1.ServiceCommandDescriptor{
			Service:              types.Msg_serviceDesc.ServiceName,
			EnhanceCustomCommand: true,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "SetAnchorKey", Skip: true}, // client/cli signs the proof with the key file
				govcli.UpdateParamsProposal("anchor"),
			},
		},
	}
}
