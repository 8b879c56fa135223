// Package govcli holds the autocli options every protolearn module shares for its governance
// messages.
package govcli

import (
	"fmt"

	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"

	"github.com/cosmos/cosmos-sdk/version"
)

// UpdateParamsProposal is the autocli command of a module's MsgUpdateParams: a governance
// proposal carrying the module's whole params as JSON.
func UpdateParamsProposal(module string) *autocliv1.RpcCommandOptions {
	return &autocliv1.RpcCommandOptions{
		RpcMethod: "UpdateParams",
		Use:       "update-params-proposal [params]",
		Short:     fmt.Sprintf("Submit a governance proposal to replace x/%s's params (all of them: query the current ones first)", module),
		Example: fmt.Sprintf(`%s tx %s update-params-proposal "$(%s query %s params -o json | jq -c .params)" --from alice`,
			version.AppName, module, version.AppName, module),
		PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "params"}},
		GovProposal:    true,
	}
}
