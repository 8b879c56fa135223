package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/chaincfg"
	"github.com/protolearn/protolearn/trainer/chain"
	"github.com/protolearn/protolearn/trainer/node"
)

// chainFlags connect `trainer run` to the chain (--chain): the model spec and the stage roster
// come from it, and the worker attests its work and answers challenges.
type chainFlags struct {
	grpc       string
	rpc        string
	chainID    string
	operator   string
	hotKey     string
	gasPrice   string
	keys       string
	state      string
	tileWidth  int
	poll       time.Duration
	cheat      float64
	cheatIn    bool
	cheatSkip  bool
	withhold   bool
	equivocate bool
	retry      time.Duration
	audit      float64
	dispute    bool
	cheatOwn   float64
	joinStage  bool
	commit     uint64
	forkSeed   string
}

func (c *chainFlags) add(fl *pflag.FlagSet) {
	fl.StringVar(&c.grpc, "chain", "", "the node's gRPC address (e.g. 127.0.0.1:9090): read the model and roster from the chain, attest work and answer challenges (replaces --roster and --spec)")
	fl.StringVar(&c.rpc, "chain-rpc", "tcp://127.0.0.1:26657", "the node's CometBFT RPC, for challenge events (polling covers its absence)")
	fl.StringVar(&c.chainID, "chain-id", chaincfg.DefaultChainID, "the chain id transactions are signed for")
	fl.StringVar(&c.operator, "operator", "", "the worker's operator address (learn1…): the account that registered, staked and took the seat")
	fl.StringVar(&c.hotKey, "hot-key", "", "the hot key file (hex secp256k1, created 0600 if missing): signs for the operator through its authz grants; `trainer hot-key` prints its address")
	fl.StringVar(&c.gasPrice, "gas-price", "0"+chaincfg.BondDenom, "gas price of the trainer's transactions (fees are paid by the operator's feegrant)")
	fl.StringVar(&c.keys, "keys", "build/keys", "directory of the tiles' proving keys (<shape>/proving.key, verifying.key: `make keys` or the ceremony)")
	fl.StringVar(&c.state, "state-dir", "", "where the commitment secret and the layers kept for the challenge window live (default: <--out>/attest, or ./attest)")
	fl.IntVar(&c.tileWidth, "tile-width", 4, "T, the width of a challenged column block; with d_model and rows×seq_len it names the registered tile shapes")
	fl.DurationVar(&c.poll, "chain-poll", 2*time.Second, "how often to check for challenges, final attestations and the model's status (its holders may pause, resume or halt it), besides events")
	fl.BoolVar(&c.joinStage, "join-stage", false, "take a seat in --stage of the model on chain first (x/models join-stage through the hot key's grant), unless the operator holds it already; the operator must be a registered, bonded worker")
	fl.StringVar(&c.forkSeed, "fork-seed", "", "on a fork (create-model --parent), a checkpoint file of the parent's stage at the fork's root to start from (a stage-N.ckpt you saved as the parent's replica); default: fetch it from the parent's replicas, which serve it to the fork's seated replicas only")
	fl.Uint64Var(&c.commit, "commit-every", 0, "commit the root of the stage's weights on chain (x/models commit-checkpoint) at most once per this many steps, at the next step boundary, and at the end (0: attestation_period)")
	fl.Float64Var(&c.cheat, "cheat", 0, "TEST TOOL: fake the designated layer's outputs on this fraction of steps instead of computing them, to show cheaters being caught (never on a real network: it loses stake)")
	fl.Float64Var(&c.cheatOwn, "cheat-own-input", 0, "TEST TOOL: on this fraction of steps, commit a designated input of the worker's own (random data, outputs computed from it) beside the real receipt, as a worker training on inputs it did not receive would, to show it slashed by an input challenge (never on a real network: it loses stake)")
	fl.BoolVar(&c.dispute, "dispute", false, "as a referee (--audit-rate), open a replay dispute on chain over an audited attestation whose own updates its replay finds wrong, and play it (posts dispute_bond from the operator's account; the hot key needs authorize-trainer --disputes)")
	fl.Float64Var(&c.audit, "audit-rate", 0, "as a referee, replay this fraction of the other replicas' attestations of the stage from their replay logs and report any that departs from what its worker committed (0: none; it costs that fraction of their compute, on a second copy of the stage)")
	fl.BoolVar(&c.cheatSkip, "cheat-skip-layer", false, "TEST TOOL: skip the stage's last layer in every pass (the stage needs two layers), to show a referee's replay finding it (never on a real network)")
	fl.BoolVar(&c.equivocate, "cheat-equivocate", false, "TEST TOOL: send every payload ten times larger than the one logged under its send number, to show a worker that signs one payload and attests another slashed on its receiver's report (never on a real network: it loses stake)")
	fl.BoolVar(&c.withhold, "cheat-withhold-log", false, "TEST TOOL: serve no replay log to the stage's other replicas, to show a worker that withholds it slashed once a referee asks for it on chain (never on a real network: it loses stake)")
	fl.DurationVar(&c.retry, "audit-retry", 0, "as a referee, the least time between two counted tries to fetch a log a worker does not serve (0: 30s); after 3, with --dispute, the referee asks for it on chain")
	fl.BoolVar(&c.cheatIn, "cheat-inputs", false, "TEST TOOL: attest every step as if its input were a payload the neighbour never sent (a worker training on data of its own), to show such steps refused (never on a real network: it is paid nothing)")
}

func (c *chainFlags) enabled() bool { return c.grpc != "" }

// config is the node's chain configuration, naming the flag at fault.
func (c *chainFlags) config() (*node.ChainConfig, error) {
	if c.operator == "" || c.hotKey == "" {
		return nil, errors.New("--chain needs --operator and --hot-key")
	}
	if c.cheat < 0 || c.cheat > 1 {
		return nil, fmt.Errorf("--cheat %v: a fraction in [0, 1]", c.cheat)
	}
	if c.retry < 0 {
		return nil, fmt.Errorf("--audit-retry %s: must not be negative (0: the default)", c.retry)
	}
	if c.poll < 0 {
		return nil, fmt.Errorf("--chain-poll %s: must not be negative (0: the default)", c.poll)
	}
	key, err := chain.LoadOrCreateHotKey(c.hotKey)
	if err != nil {
		return nil, err
	}
	price, err := sdk.ParseDecCoin(c.gasPrice)
	if err != nil {
		return nil, fmt.Errorf("--gas-price %q: %w", c.gasPrice, err)
	}
	return &node.ChainConfig{
		Dial: chain.Config{GRPC: c.grpc, ChainID: c.chainID, HotKey: key, Operator: c.operator, GasPrice: price},
		RPC:  c.rpc, Keys: c.keys, StateDir: c.state, TileWidth: c.tileWidth, Poll: c.poll, StatusPoll: c.poll,
		JoinStage: c.joinStage, ForkSeed: c.forkSeed, CommitEvery: c.commit, Cheat: c.cheat, CheatInputs: c.cheatIn, CheatOwnInput: c.cheatOwn,
		CheatSkipLayer: c.cheatSkip, AuditRate: c.audit, Dispute: c.dispute, CheatWithholdLog: c.withhold, CheatEquivocate: c.equivocate, AuditRetry: c.retry,
	}, nil
}

func newHotKeyCmd() *cobra.Command {
	var key string
	cmd := &cobra.Command{
		Use:   "hot-key",
		Short: "Print the chain address of a trainer's hot key file (created if missing)",
		Long: `hot-key prints the account address of the hot key that 'trainer run --chain' signs with.
The operator authorizes it once, with its own key:

  protolearnd tx verify authorize-trainer $(trainer hot-key --hot-key hot.key) --model N --stage S --from operator`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if key == "" {
				return errors.New("--hot-key is required")
			}
			k, err := chain.LoadOrCreateHotKey(key)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), sdk.AccAddress(k.PubKey().Address()).String())
			return nil
		},
	}
	cmd.Flags().StringVar(&key, "hot-key", "", "the hot key file (required)")
	return cmd
}
