package models

import (
	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"

	"github.com/protolearn/protolearn/x/internal/govcli"
	"github.com/protolearn/protolearn/x/models/types"
)

// createModelExample is a whole create-model command: an 8-layer byte-level model in 4 stages.
const createModelExample = `protolearnd tx models create-model tiny-go-lm \
  --arch '{"vocab":256,"d_model":512,"n_layers":8,"n_heads":8,"seq_len":256,"compression_rank":8}' \
  --stages '{"layers":2}' --stages '{"layers":2}' --stages '{"layers":2}' --stages '{"layers":2}' \
  --seed 42 --dataset-commitment 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 \
  --subspace-root "$(trainer subspace-root --arch '{"vocab":256,"d_model":512,"compression_rank":8}' --seed 42)" \
  --designer-bps 500 --min-stake 100000000ulearn --max-replicas-per-stage 4 --target-work-units 100000 \
  --optimizer '{"learning_rate":"0.0003","warmup_steps":100,"decay_steps":10000}' \
  --from designer`

// AutoCLIOptions generates `protolearnd tx models …` and `protolearnd query models …`.
func (am AppModule) AutoCLIOptions() *autocliv1.ModuleOptions {
	modelID := &autocliv1.PositionalArgDescriptor{ProtoField: "model_id"}
	stage := &autocliv1.PositionalArgDescriptor{ProtoField: "stage"}
	return &autocliv1.ModuleOptions{
		Query: &autocliv1.ServiceCommandDescriptor{
			Service: types.Query_serviceDesc.ServiceName,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{RpcMethod: "Params", Use: "params", Short: "Show the x/models parameters"},
				{
					RpcMethod: "Model", Use: "model [id]", Short: "Show a model: specification, status and verified work",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "id"}},
				},
				{
					RpcMethod: "Models", Use: "models", Short: "List models",
					Long: "List models; --status recruiting (or training, paused, completed, halted, cancelled, awaiting-approval) lists only those, --parent-id N only model N's direct forks.",
				},
				{
					RpcMethod: "StageRoster", Use: "stage-roster [model-id] [stage]",
					Short:          "List the replicas of a stage with their libp2p peer ids, addresses and latest checkpoints",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{modelID, stage},
				},
				{
					RpcMethod: "Assignments", Use: "assignments [operator]", Short: "List the (model, stage) seats of an operator",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "operator"}},
				},
				{
					RpcMethod: "HeldStage", Use: "held-stage [model-id] [operator]",
					Short:          "The stage of a model an operator has held: the only one of that model it may ever hold",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{modelID, {ProtoField: "operator"}},
				},
				{
					RpcMethod: "Checkpoints", Use: "checkpoints [model-id]",
					Short:          "Per stage of a model: latest checkpoint step, weights root and how many replicas agree",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{modelID},
				},
			},
		},
		Tx: &autocliv1.ServiceCommandDescriptor{
			Service: types.Msg_serviceDesc.ServiceName,
			RpcCommandOptions: []*autocliv1.RpcCommandOptions{
				{
					RpcMethod: "CreateModel",
					Use:       "create-model [name] --arch '{json}' --stages '{\"layers\":N}' (once per stage) --dataset-commitment [hex] --subspace-root [hex] --min-stake [coin] --max-replicas-per-stage N --target-work-units N",
					Short:     "Propose a model; it recruits workers until every stage has a replica",
					Long: "Propose a model signed by --from, its designer. --stages is repeated, once per stage in order, and the " +
						"layers add up to arch.n_layers. --dataset-commitment is 32 bytes, in hex (64 digits), base64, or a " +
						"file holding the raw bytes. --min-stake is in the stake denom and at least x/compute's min_worker_stake.",
					Example:        createModelExample,
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{{ProtoField: "name"}},
					FlagOptions: map[string]*autocliv1.FlagOptions{
						"arch":   {Usage: `architecture as JSON: {"vocab":256,"d_model":512,"n_layers":8,"n_heads":8,"seq_len":256,"compression_rank":8}`},
						"stages": {Usage: `one stage as JSON, {"layers":N}; repeat the flag once per stage, stage 0 first`},
						"seed":   {Usage: "seed of the initial weights, the compression subspace and the fixed token embedding"},
						"dataset_commitment": {
							Usage: "32-byte commitment to the training data: 64 hex digits, base64, or a file holding the raw bytes",
						},
						"subspace_root": {
							Usage: "32-byte root of the compression tables (required when compression_rank < d_model): `trainer subspace-root --arch … --seed …` prints it in hex",
						},
						"designer_bps":           {Usage: "designer's cut in basis points (at most 10000), minted on top of each finalized unit of work"},
						"min_stake":              {Usage: "least bonded stake a worker needs to join a stage, e.g. 100000000ulearn"},
						"max_replicas_per_stage": {Usage: "most replicas a stage may have (at most the max_replicas_limit param)"},
						"target_work_units":      {Usage: "verified work at which the model completes"},
						"microbatches_per_step":  {Usage: "microbatches (updates) in one step, 1 to 32 (default 1): every trainer of the model uses it, and a step is paid only with that many distinct inputs"},
						"optimizer": {
							Usage: `training rule as JSON, every field optional: {"learning_rate":"0.003","weight_decay":"0","warmup_steps":0,"decay_steps":0,"pipeline_depth":0} (depth 0: twice the stages); every trainer of the model applies it`,
						},
						"parent_id": {
							Name:  "parent",
							Usage: "fork model N: start from its committed weights (leave --arch, --stages, --seed and --subspace-root out: they are the parent's); a new dataset, schedule, target and economics are yours",
						},
						"parent_bps":  {Usage: "a fork's royalty: this part of its revenue (after fees) goes to the parent's holders, at least the parent's fork_policy.min_parent_bps"},
						"fork_roots":  {Usage: "a fork's starting weights, one root a stage (hex, repeat in stage order): each a current replica's latest commit of the parent's stage (default: each stage's most agreed root)"},
						"fork_policy": {Usage: `what this model asks of its own forks, as JSON: {"needs_approval":false,"min_parent_bps":0}; its holders may change it`},
					},
				},
				{
					RpcMethod: "CancelModel", Use: "cancel-model [model-id]", Short: "Cancel your model while it is still recruiting",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{modelID},
				},
				{
					RpcMethod: "JoinStage", Use: "join-stage [model-id] [stage]",
					Short: "Take a seat as a replica of one stage of a model (one stage per model)",
					Long: "Seat the --from worker in a stage (numbered from 0). The worker must be active in x/compute with at " +
						"least the model's min_stake bonded, and may hold only one stage of a model.",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{modelID, stage},
				},
				{
					RpcMethod: "LeaveStage", Use: "leave-stage [model-id]", Short: "Give up your seat in a model",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{modelID},
				},
				{
					RpcMethod: "CommitCheckpoint", Use: "commit-checkpoint [model-id] [stage] [step] [weights-root]",
					Short: "Commit the Merkle root of your stage weights at a training step",
					Long: "weights-root is 32 bytes: 64 hex digits, base64, or a file holding the raw bytes. step must exceed " +
						"your previous commit's step for the stage.",
					PositionalArgs: []*autocliv1.PositionalArgDescriptor{modelID, stage, {ProtoField: "step"}, {ProtoField: "weights_root"}},
				},
				govcli.UpdateParamsProposal("models"),
			},
		},
	}
}
