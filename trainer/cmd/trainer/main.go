// Command trainer trains protolearn models.
//
// `trainer local` trains every stage of a model in one process with
// trainer/pipeline: one goroutine per stage, the stages joined by emulated
// network links, so the bytes each boundary would carry are measured exactly.
// It writes loss.csv, loss.png and per-stage checkpoints to --out, can resume
// from them, and can serve Prometheus metrics.
//
// Build with GOEXPERIMENT=simd (as `make build` does) for a 2–5× faster CPU
// backend.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/protolearn/protolearn/trainer/node"
)

func main() {
	// The first interrupt stops training; the second leaves a worker's wait for its verdicts.
	ctx, leave, stop := node.Interrupts(context.Background())
	err := newRootCmd(os.Stdout, os.Stderr, leave).ExecuteContext(ctx)
	stop()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(os.Stderr, "trainer: interrupted")
			os.Exit(130)
		}
		fmt.Fprintln(os.Stderr, "trainer:", err)
		os.Exit(1)
	}
}

// newRootCmd is the command tree; stdout and stderr are where it writes, and closing leave
// is the second interrupt.
func newRootCmd(stdout, stderr io.Writer, leave <-chan struct{}) *cobra.Command {
	root := &cobra.Command{
		Use:           "trainer",
		Short:         "Train protolearn models",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newLocalCmd(), newRunCmd(leave), newPeerIDCmd(), newHotKeyCmd(), newDoctorCmd(), newDatasetRootCmd(), newSubspaceRootCmd(),
		newServeCmd(), newGatewayCmd(), newSpenderKeyCmd())
	return root
}
