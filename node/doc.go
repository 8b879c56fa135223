// Package node holds the protolearn chain daemon, protolearnd.
//
//	node/cmd/protolearnd  main: runs the root command
//	node/cli              the command tree: init, start, keys, genesis, tx, query, status,
//	                      config, export, rollback, prune, snapshots, comet, testnet init-files
//
// The application itself (modules, keepers, genesis) lives in app/; to add a module, change
// app/modules.go only: its CLI comes from autocli.
package node
