// Package cli builds the protolearnd command tree: the root command with its client and server
// context set-up (root.go), the subcommands (commands.go), the app constructor and exporter the
// server runs (appcreator.go), app.toml/config.toml defaults (defaults.go), the client.toml
// editor `config` (clientconfig.go) and `testnet init-files` (testnet.go).
//
// Module commands are not listed here: autocli generates `tx <module> …` and `query <module> …`
// from each module's services and AutoCLIOptions, so a module added in app/modules.go shows up in
// the CLI without a change in this package.
package cli
