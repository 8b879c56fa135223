// Package app wires the protolearn chain: a Cosmos SDK application built by hand (no depinject)
// from the SDK modules auth, bank, staking, slashing, distribution, mint, gov, consensus, upgrade,
// genutil, evidence, authz and feegrant, and protolearn's own modules under x/.
//
// Layout, one job per file:
//
//	config.go      chain-wide names (denoms, bech32 prefixes, chain id, home) and the SDK config
//	modules.go     THE list of modules: store keys, module accounts, AppModules, hook orders
//	keepers.go     keeper construction, in dependency order; exported keepers for tests
//	app.go         the App type, its constructor and ABCI hooks, codec getters
//	genesis.go     the genesis type and the ulearn denom metadata in bank's default genesis
//	ante.go        ante and post handlers
//	services.go    REST/gRPC service registration and autocli options
//	export.go      state export, including zero-height export for a chain restart
//	upgrades.go    named software upgrades and their store changes
//	encoding.go    codecs without a node (a temporary App), app options as a map
//
// To add a module (x/models, x/shares, …): follow the numbered steps at the top of modules.go.
// Importing this package sets the bech32 prefixes (learn…) and the default bond denom (ulearn).
package app
