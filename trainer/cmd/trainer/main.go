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
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd(os.Stdout, os.Stderr).ExecuteContext(ctx)
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

// newRootCmd is the command tree; stdout and stderr are where it writes.
func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "trainer",
		Short:         "Train protolearn models",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newLocalCmd(nil), newRunCmd(), newPeerIDCmd(), newHotKeyCmd())
	return root
}
