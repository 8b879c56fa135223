package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/protolearn/protolearn/chaincfg"
	"github.com/protolearn/protolearn/circuits/commit"
	"github.com/protolearn/protolearn/trainer/attest"
	"github.com/protolearn/protolearn/trainer/chain"
	"github.com/protolearn/protolearn/trainer/spec"
	verifytypes "github.com/protolearn/protolearn/x/verify/types"
)

// chainFlags connect `trainer run` to the chain (--chain): the model spec and the stage roster
// come from it, and the worker attests its work and answers challenges.
type chainFlags struct {
	grpc      string
	rpc       string
	chainID   string
	operator  string
	hotKey    string
	gasPrice  string
	keys      string
	state     string
	tileWidth int
	poll      time.Duration
	cheat     float64
	joinStage bool
	commit    uint64
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
	fl.DurationVar(&c.poll, "chain-poll", 2*time.Second, "how often to check for challenges and final attestations, besides events")
	fl.BoolVar(&c.joinStage, "join-stage", false, "take a seat in --stage of the model on chain first (x/models join-stage through the hot key's grant), unless the operator holds it already; the operator must be a registered, bonded worker")
	fl.Uint64Var(&c.commit, "commit-every", 0, "commit the root of the stage's weights on chain (x/models commit-checkpoint) at most once per this many steps, at the next step boundary, and at the end (0: attestation_period)")
	fl.Float64Var(&c.cheat, "cheat", 0, "TEST TOOL: fake the designated layer's outputs on this fraction of steps instead of computing them, to show cheaters being caught (never on a real network: it loses stake)")
}

func (c *chainFlags) enabled() bool { return c.grpc != "" }

// chainSetup is what `run --chain` learns from the chain before training.
type chainSetup struct {
	client *chain.Client
	spec   spec.Spec
	stage  int
	params verifytypes.Params
	// firstStep is the chain step of the worker's local step 0: one above the last step it
	// attested on the model, so that a restarted trainer never overlaps its past.
	firstStep uint64
}

// connect reads the model and the operator's seat from the chain.
func (c *chainFlags) connect(ctx context.Context, model uint64, stage int, log *slog.Logger) (*chainSetup, error) {
	if c.operator == "" || c.hotKey == "" {
		return nil, errors.New("--chain needs --operator and --hot-key")
	}
	if c.cheat < 0 || c.cheat > 1 {
		return nil, fmt.Errorf("--cheat %v: a fraction in [0, 1]", c.cheat)
	}
	key, err := chain.LoadOrCreateHotKey(c.hotKey)
	if err != nil {
		return nil, err
	}
	price, err := sdk.ParseDecCoin(c.gasPrice)
	if err != nil {
		return nil, fmt.Errorf("--gas-price %q: %w", c.gasPrice, err)
	}
	cl, err := chain.Dial(chain.Config{GRPC: c.grpc, ChainID: c.chainID, HotKey: key, Operator: c.operator, GasPrice: price, Log: log})
	if err != nil {
		return nil, err
	}
	m, err := cl.Model(ctx, model)
	if err != nil {
		cl.Close()
		return nil, err
	}
	held, seated, err := cl.StageOf(ctx, model)
	if err != nil {
		cl.Close()
		return nil, err
	}
	if !seated && c.joinStage {
		if stage < 0 {
			cl.Close()
			return nil, errors.New("--join-stage needs --stage: the stage to take a seat in")
		}
		if err := cl.JoinStage(ctx, model, uint32(stage)); err != nil {
			cl.Close()
			return nil, err
		}
		log.Info("joined a stage on chain", "model", model, "stage", stage, "operator", c.operator)
		held, seated = uint32(stage), true
	}
	switch {
	case !seated:
		cl.Close()
		return nil, fmt.Errorf("--operator %s holds no stage of model %d: join one first (--join-stage, or protolearnd tx models join-stage)", c.operator, model)
	case stage >= 0 && uint32(stage) != held:
		cl.Close()
		return nil, fmt.Errorf("--stage %d: %s holds stage %d of model %d", stage, c.operator, held, model)
	}
	p, err := cl.VerifyParams(ctx)
	if err != nil {
		cl.Close()
		return nil, err
	}
	first := uint64(1)
	if last, ok, err := cl.LastAttestedStep(ctx, c.operator, model); err != nil {
		cl.Close()
		return nil, err
	} else if ok {
		first = last + 1
	}
	return &chainSetup{client: cl, spec: chain.Spec(m), stage: int(held), params: p, firstStep: first}, nil
}

// attester builds the worker's attester; tileRows is rows × seq_len of its microbatches.
func (c *chainFlags) attester(ctx context.Context, cs *chainSetup, model uint64, tileRows int, out string, reg prometheus.Registerer, log *slog.Logger) (*attest.Attester, error) {
	shapes, err := verifytypes.TileShapes(uint32(cs.spec.DModel), uint32(tileRows), uint32(c.tileWidth))
	if err != nil {
		return nil, fmt.Errorf("--tile-width %d with %d rows: %w", c.tileWidth, tileRows, err)
	}
	prover := attest.NewProver(c.keys)
	for _, s := range shapes {
		if _, ok := cs.params.Key(s.String()); !ok {
			return nil, fmt.Errorf("the chain has no verifying key for %s: choose --rows so that rows × seq_len is a registered tile (protolearnd query verify verifying-keys)", s)
		}
		if _, err := prover.Keys(s); err != nil {
			return nil, err
		}
	}
	dir := c.state
	if dir == "" {
		dir = "attest"
		if out != "" {
			dir = filepath.Join(out, "attest")
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("--state-dir: %w", err)
	}
	secret, err := loadOrCreateSecret(filepath.Join(dir, "commit.secret"))
	if err != nil {
		return nil, err
	}
	store, err := attest.OpenStore(filepath.Join(dir, "layers"))
	if err != nil {
		return nil, err
	}
	var wake <-chan struct{}
	if c.rpc != "" {
		wake = chain.WatchChallenges(ctx, c.rpc, c.operator, log)
	}
	if c.cheat > 0 {
		log.Warn("CHEATING (test tool): faking the designated layer on a fraction of steps", "fraction", c.cheat)
	}
	att, err := attest.NewAttester(attest.Config{
		Chain: cs.client, ChainID: c.chainID, Worker: c.operator, ModelID: model, Stage: uint32(cs.stage),
		Layers: uint32(cs.spec.Stages[cs.stage]), Period: cs.params.AttestationPeriod, FirstStep: cs.firstStep,
		TileWidth: c.tileWidth, Secret: secret, Store: store, Prover: prover, Cheat: c.cheat,
		Rand: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())), Poll: c.poll, Wake: wake, Log: log, Metrics: reg,
	})
	if err != nil {
		return nil, err
	}
	return att, att.Recover(ctx)
}

// committer commits the stage's weights root every --commit-every steps; microbatches is the
// updates of one step.
func (c *chainFlags) committer(ctx context.Context, cs *chainSetup, model uint64, microbatches int, log *slog.Logger) (*checkpointCommitter, error) {
	every := c.commit
	if every == 0 {
		every = cs.params.AttestationPeriod
	}
	last, _, _, err := cs.client.LastCheckpoint(ctx, model, uint32(cs.stage))
	if err != nil {
		return nil, err
	}
	return &checkpointCommitter{cs: cs, model: model, microbatches: uint64(microbatches), every: every, log: log, last: last}, nil
}

// loadOrCreateSecret reads the commitment secret, creating a random one (0600) on first use: it
// must survive restarts, or stored layers could not be recommitted to their roots.
func loadOrCreateSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		s, err := commit.NewSeed()
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, s[:], 0o600); err != nil {
			return nil, fmt.Errorf("writing %s: %w", path, err)
		}
		return s[:], nil
	}
	if err != nil {
		return nil, err
	}
	if len(b) != 32 {
		return nil, fmt.Errorf("%s: %d bytes, want 32", path, len(b))
	}
	return b, nil
}

func newHotKeyCmd() *cobra.Command {
	var key string
	cmd := &cobra.Command{
		Use:   "hot-key",
		Short: "Print the chain address of a trainer's hot key file (created if missing)",
		Long: `hot-key prints the account address of the hot key that 'trainer run --chain' signs with.
The operator authorizes it once, with its own key:

  protolearnd tx verify authorize-trainer $(trainer hot-key --hot-key hot.key) --from operator`,
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
