package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/protolearn/protolearn/trainer/doctor"
)

func newDoctorCmd() *cobra.Command {
	var (
		cf               chainFlags
		nf               natFlags
		model            uint64
		stage            int
		key, backendName string
		listen, announce []string
		wait             time.Duration
	)
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check a trainer's set-up: keys, chain, registration, seat, hot-key grants, backend, and whether peers can reach it",
		Long: `doctor runs the checks a trainer's start depends on and prints, for each, what it found and,
when it fails, what to fix:

  peer key, hot key         the files exist and load (the peer id, the hot key's address)
  chain, chain RPC          the node's gRPC and CometBFT RPC answer, for --chain-id
  registration              the operator is a registered worker, with this --key's peer id and an address
  seat                      the operator holds a stage of --model (the --stage, if given)
  hot key grants            authorize-trainer's grants, fee allowance and account are there
  backend                   the compute backend starts (go, or xla with its plugin and device)
  listen                    the host binds --listen and announces its addresses
  registered addresses      a peer dialing the addresses on chain reaches this identity
  relay …                   each --relay answers
  reachability              the model's other workers answer, and AutoNAT says whether they can dial back

Give it the flags 'trainer run' takes. Run it beside a running trainer too: a port in use is
taken as the trainer's. It exits 1 when a check fails.`,
		Example: `  trainer doctor --model 1 --chain 127.0.0.1:9090 --chain-id protolearn-1 --operator learn1… --hot-key hot.key --key peer.key --listen /ip4/0.0.0.0/tcp/4001`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cf.enabled() {
				return errors.New("--chain is required: doctor checks the set-up on chain")
			}
			if _, err := os.Stat(cf.hotKey); cf.hotKey != "" && err != nil {
				return fmt.Errorf("--hot-key %s: %w ('trainer hot-key --hot-key FILE' creates one and prints its address to authorize)", cf.hotKey, err)
			}
			cc, err := cf.config()
			if err != nil {
				return err
			}
			nat, err := nf.config()
			if err != nil {
				return err
			}
			cfg := doctor.Config{
				KeyPath: key, HotKeyPath: cf.hotKey, Chain: cc.Dial, RPC: cc.RPC, Model: model, Stage: stage,
				Listen: listen, Announce: announce, NAT: nat, Backend: backendName, Wait: wait,
			}
			out := cmd.OutOrStdout()
			failed := doctor.Run(cmd.Context(), cfg, func(r doctor.Result) {
				mark := "ok  "
				switch {
				case r.Skipped:
					mark = "skip"
				case !r.OK:
					mark = "FAIL"
				}
				fmt.Fprintf(out, "%s %-22s %s\n", mark, r.Check, r.Detail)
				if r.Fix != "" {
					fmt.Fprintf(out, "     %-22s fix: %s\n", "", r.Fix)
				}
			})
			if failed > 0 {
				return fmt.Errorf("%d check(s) failed", failed)
			}
			fmt.Fprintln(out, "every check passed")
			return nil
		},
	}
	fl := cmd.Flags()
	cf.add(fl)
	nf.add(fl, false)
	fl.Uint64Var(&model, "model", 1, "the model's id")
	fl.IntVar(&stage, "stage", -1, "the stage the trainer is to train (default: the one the operator holds)")
	fl.StringVar(&key, "key", "", "the identity key file trainer run uses (never created here)")
	fl.StringSliceVar(&listen, "listen", []string{"/ip4/127.0.0.1/tcp/0"}, "the multiaddrs trainer run listens on")
	fl.StringSliceVar(&announce, "announce", nil, "the multiaddrs trainer run advertises")
	fl.StringVar(&backendName, "backend", "go", "the tensor backend trainer run uses")
	fl.DurationVar(&wait, "wait", 20*time.Second, "how long to wait for the other workers' reachability verdict")
	return cmd
}
