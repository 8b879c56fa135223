// Command protolearnd is the protolearn chain daemon.
package main

import (
	"fmt"
	"os"

	svrcmd "github.com/cosmos/cosmos-sdk/server/cmd"
	"github.com/cosmos/cosmos-sdk/version"

	"github.com/protolearn/protolearn/app"
	"github.com/protolearn/protolearn/node/cli"
)

func main() {
	// The Makefile sets these through -ldflags; a plain `go build` still names the app in genesis.
	if version.Name == "" {
		version.Name = app.Name
	}
	if version.AppName == "" {
		version.AppName = "protolearnd"
	}

	rootCmd, err := cli.NewRootCmd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "protolearnd:", err)
		os.Exit(1)
	}
	if err := svrcmd.Execute(rootCmd, cli.EnvPrefix, app.DefaultNodeHome); err != nil {
		fmt.Fprintln(rootCmd.ErrOrStderr(), err)
		os.Exit(1)
	}
}
