package verify

import (
	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"

	"github.com/protolearn/protolearn/x/internal/govcli"
	"github.com/protolearn/protolearn/x/verify/types"
)

// AutoCLIOptions generates `protolearnd tx verify …` and `protolearnd query verify …`.
// Attestations and responses are posted by the trainer, which builds them from its commitments
// and proofs; the CLI offers them for inspection and scripting.
func (am AppModule) AutoCLIOptions() *autocliv1.ModuleOptions {
	return &autocliv1.ModuleOptions{
		Query: &autocliv1.ServiceCommandDescriptor{
			Service: types.Query_serviceDesc.ServiceName,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "Params", Use: "params", Short: "Show the x/verify parameters"},
				{
					RpcMethod: "Attestation", Use: "attestation [id]", Short: "Show one attestation",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "id"}},
				},
				{
					RpcMethod: "Attestations", Use: "attestations", Short: "List attestations, newest first (--model-id, --worker, --status pending|finalized|void)",
				},
				{
					RpcMethod: "Challenge", Use: "challenge [id]", Short: "Show one challenge",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "id"}},
				},
				{
					RpcMethod: "Challenges", Use: "challenges", Short: "List challenges, newest first (--worker, --status open|answered|failed|cancelled)",
				},
				{
					RpcMethod: "Dispute", Use: "dispute [id]", Short: "Show one replay dispute: its phase, whose move it waits for, and until when",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "id"}},
				},
				{RpcMethod: "Disputes", Use: "disputes", Short: "List replay disputes, newest first (--party worker or referee, --open-only)"},
				{
					RpcMethod: "LogRequest", Use: "log-request [id]", Short: "Show one log request: whose log, who asked, until when, and how it closed",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "id"}},
				},
				{RpcMethod: "LogRequests", Use: "log-requests", Short: "List log requests, newest first (--party worker or referee, --attestation-id, --open-only)"},
				{
					RpcMethod: "StagePending", Use: "stage-pending [model-id] [stage]", Short: "List one stage's pending attestations, in the order they finalize, seated workers or not",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "model_id"}, {ProtoField: "stage"}},
				},
				{RpcMethod: "VerifyingKeys", Use: "verifying-keys", Short: "List the registered tile shapes and their verifying keys"},
			},
		},
		Tx: &autocliv1.ServiceCommandDescriptor{
			Service:              types.Msg_serviceDesc.ServiceName,
			EnhanceCustomCommand: true,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{
					RpcMethod: "OpenChallenge", Use: "open-challenge [attestation-id] [kind] [step] [row] [col] [bond]",
					Short: "Challenge one tile of a pending attestation, posting the challenge bond",
					Long: "Challenge one tile of a pending attestation. kind is forward, backward or tie; row and col (column block) must lie inside the tile. The bond must equal the " +
						"challenge_bond parameter: it goes to the worker if it answers with a valid proof; if it does not, you get it " +
						"back with challenger_reward_bps of what the worker is slashed.",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{
						{ProtoField: "attestation_id"},
						{ProtoField: "kind"},
						{ProtoField: "step"},
						{ProtoField: "row"},
						{ProtoField: "col"},
						{ProtoField: "bond"},
					},
				},
				{
					RpcMethod: "OpenDispute", Use: "open-dispute [attestation-id] [bond]",
					Short: "Dispute the updates of a pending attestation of your stage, posting dispute_bond",
					Long: "Open a replay dispute over the updates of a pending attestation of the stage you hold (or held within clock_window blocks), from its state root to its " +
						"end_state_root. The bond must be at least dispute_bond: half goes to the worker and half is burned if you lose; you get it back, with " +
						"challenger_reward_bps of the slash, if the worker does. Every move after this one is yours to make before each deadline (MsgDisputeRespond, " +
						"which this CLI does not build): your trainer, run with --dispute and its hot key authorized with --disputes, plays it from the worker's log " +
						"(and opens its own where its audits find one); without it the dispute is lost at the first deadline (x/verify/README.md).",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "attestation_id"}, {ProtoField: "bond"}},
				},
				{
					RpcMethod: "RequestLog", Use: "request-log [attestation-id]",
					Short: "Ask on chain for the replay log of a pending attestation of your stage, which its worker did not serve you",
					Long: "Ask on chain for the replay log of a pending attestation of the stage you hold (or held within clock_window blocks). Within log_window blocks the worker " +
						"must show that a replica of the stage other than itself (you, or another) signed that it holds the log (the replica's trainer signs once it has " +
						"fetched it and its heads fold to the attested ones); if it does not, it is slashed and jailed as for a failed challenge, its pending attestations " +
						"are voided, and you get challenger_reward_bps of the slash. It posts nothing, and needs a replica of the stage besides you and the worker.",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "attestation_id"}},
				},
				{RpcMethod: "AnswerLogRequest", Skip: true},  // the worker's trainer gathers a replica's custody
				{RpcMethod: "DisputeClaim", Skip: true},      // the worker's trainer plays from its log
				{RpcMethod: "DisputeRespond", Skip: true},    // the referee's trainer plays from its replay
				{RpcMethod: "SubmitAttestation", Skip: true}, // the trainer builds it from its commitments
				{RpcMethod: "RespondChallenge", Skip: true},  // the trainer proves and answers
				govcli.UpdateParamsProposal("verify"),
			},
		},
	}
}
