package anchor

import (
	"fmt"

	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"

	"github.com/cosmos/cosmos-sdk/version"

	"github.com/protolearn/protolearn/x/anchor/types"
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
				{
					RpcMethod:      "UpdateParams",
					Use:            "update-params-proposal [params]",
					Short:          "Submit a governance proposal to replace x/anchor's params (all of them: query the current ones first)",
					Example:        fmt.Sprintf(`%s tx anchor update-params-proposal "$(%s query anchor params -o json | jq -c .params)" --from alice`, version.AppName, version.AppName),
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "params"}},
					GovProposal:    true,
				},
			},
		},
	}
}
