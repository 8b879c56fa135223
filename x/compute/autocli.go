package compute

import (
	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"

	"github.com/protolearn/protolearn/x/compute/types"
	"github.com/protolearn/protolearn/x/internal/govcli"
)

// workerFlags describe the worker fields that are flags rather than positional arguments.
var workerFlags = map[string]*autocliv1.FlagOptions{
	"multiaddrs": {Usage: "libp2p addresses your trainer listens on, comma-separated (e.g. /ip4/1.2.3.4/tcp/4001,/ip4/1.2.3.4/udp/4001/quic-v1)"},
	"hardware":   {Usage: `what the worker runs on, as JSON: {"accelerator":"H100-80GB","memory_gib":80,"bandwidth_mbps":1000}`},
}

// AutoCLIOptions generates `protolearnd tx compute …` and `protolearnd query compute …`.
func (am AppModule) AutoCLIOptions() *autocliv1.ModuleOptions {
	return &autocliv1.ModuleOptions{
		Query: &autocliv1.ServiceCommandDescriptor{
			Service: types.Query_serviceDesc.ServiceName,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "Params", Use: "params", Short: "Show the x/compute parameters"},
				{
					RpcMethod: "Worker", Use: "worker [operator]", Short: "Show the worker of an operator",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "operator"}},
				},
				{
					RpcMethod: "WorkerByPeerId", Use: "worker-by-peer [peer-id]", Short: "Show the worker that announces a libp2p peer id",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "peer_id"}},
				},
				{
					RpcMethod: "Workers", Use: "workers", Short: "List workers",
					Long: "List workers; --status active (or jailed, inactive) lists only those.",
				},
				{
					RpcMethod: "UnbondingEntries", Use: "unbonding-entries [operator]", Short: "List an operator's pending unbonding entries",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "operator"}},
				},
			},
		},
		Tx: &autocliv1.ServiceCommandDescriptor{
			Service: types.Msg_serviceDesc.ServiceName,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{
					RpcMethod: "RegisterWorker",
					Use:       "register-worker [peer-id] [stake] --hardware '{\"accelerator\":\"H100-80GB\",\"memory_gib\":80,\"bandwidth_mbps\":1000}' --multiaddrs /ip4/1.2.3.4/tcp/4001",
					Short:     "Register the signer as a compute provider, bonding stake",
					Long: "Register the --from account as a compute provider. peer-id is the libp2p id your trainer prints at start; " +
						"stake (e.g. 100000000ulearn) must reach min_worker_stake and is held by the module until unbonded.",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "peer_id"}, {ProtoField: "stake"}},
					FlagOptions:    workerFlags,
				},
				{
					RpcMethod: "UpdateWorker", Use: "update-worker",
					Short: "Change your worker's --peer-id, --multiaddrs or --hardware",
					FlagOptions: map[string]*autocliv1.FlagOptions{
						"peer_id":    {Usage: "new libp2p peer id (12D3KooW…); unset keeps the current one"},
						"multiaddrs": workerFlags["multiaddrs"],
						"hardware":   workerFlags["hardware"],
					},
				},
				{
					RpcMethod: "AddStake", Use: "add-stake [amount]", Short: "Bond more stake to your worker",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "amount"}},
				},
				{
					RpcMethod: "BeginUnbonding", Use: "begin-unbonding [amount]",
					Short:          "Start unbonding stake; it is paid back after unbonding_time and stays slashable until then",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "amount"}},
				},
				{RpcMethod: "Unjail", Use: "unjail", Short: "Return your jailed worker to service after jail_duration"},
				govcli.UpdateParamsProposal("compute"),
			},
		},
	}
}
