// Package cli builds the protolearnd command tree: the root command with its client and server
// context set-up (root.go), the subcommands (commands.go), the app constructor and exporter the
// server runs (appcreator.go), app.toml/config.toml defaults (defaults.go), the client.toml
// editor `config` (clientconfig.go) and `testnet init-files` (testnet.go: flags; testnet_node.go:
// each node's home and keys; testnet_genesis.go: the shared genesis; testnet_overrides.go: genesis
// values from --verifying-keys, --genesis-overrides and --genesis-set), the one local-chain set-up
// that make localnet, make demo, scripts/bench-chain.sh and node/e2e all call.
//
// Module commands are not listed here: autocli generates `tx <module> …` and `query <module> …`
// from each module's services and AutoCLIOptions, so a module added in app/modules.go shows up in
// the CLI without a change in this package.
package cli
