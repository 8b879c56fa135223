#!/usr/bin/make -f
# protolearn: build, test, lint, proto generation, local chain and benchmarks.
# Targets are named like the Cosmos SDK's. `make help` lists them.

BUILDDIR ?= $(CURDIR)/build
TOOLSDIR := $(BUILDDIR)/tools
BINARY   := protolearnd

# Version: the nearest tag (or the commit) from git, with -dirty for local edits; a dev string
# where there is no git history yet.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
COMMIT  ?= $(shell git log -1 --format=%H 2>/dev/null)
BUILD_TAGS ?=

SDK_VERSION_PKG := github.com/cosmos/cosmos-sdk/version
ldflags := -X $(SDK_VERSION_PKG).Name=protolearn \
	-X $(SDK_VERSION_PKG).AppName=$(BINARY) \
	-X $(SDK_VERSION_PKG).Version=$(VERSION) \
	-X $(SDK_VERSION_PKG).Commit=$(COMMIT) \
	-X "$(SDK_VERSION_PKG).BuildTags=$(BUILD_TAGS)"
ifeq ($(LINK_STATICALLY),true)
  ldflags += -linkmode=external -extldflags "-Wl,-z,muldefs -static"
endif
ldflags += $(LDFLAGS)

# No -trimpath: it would give the daemon its own build cache entries, so the first `make build`
# after `go build ./...` or `go test ./...` would recompile the whole SDK (minutes on 2 cores).
BUILD_FLAGS := -tags "$(BUILD_TAGS)" -ldflags '$(ldflags)'

# Tests: 2 packages at a time keeps a 2-core machine responsive; 20 min is the per-binary limit.
TEST_PARALLEL ?= 2
TEST_TIMEOUT  ?= 20m
TEST_FLAGS    ?=
TEST_PKGS     ?= ./...

export GO111MODULE = on

###############################################################################
###                                  Build                                  ###
###############################################################################

# The trainer is built with GOEXPERIMENT=simd: GoMLX's Go backend is 2-5x faster with it. `make
# build` builds the daemon with it too, both in one `go build`, so that the packages they share
# (the SDK's types, gnark, the modules' types) compile once, in parallel, into one set of cache
# entries: a cold `make demo` compiles them once instead of twice. (`go test` builds without it, so
# its cache entries are its own.)
TRAINER_GOEXPERIMENT ?= simd

# The ceremony tool and lossplot are built with the same experiment and flags: `make demo` runs
# both, and built apart without it they would compile gnark and the trainer's packages again.
# (build/ceremony/ is the ceremonies' keys, so the tool goes to build/bin/.)
build: ## Build build/protolearnd and build/trainer in one go build, and the tools build/lossplot and build/bin/ceremony (go rebuilds only what changed)
	@mkdir -p $(BUILDDIR)/bin
	GOEXPERIMENT=$(TRAINER_GOEXPERIMENT) go build $(BUILD_FLAGS) -o $(BUILDDIR)/ ./node/cmd/$(BINARY) ./trainer/cmd/trainer ./trainer/cmd/lossplot
	GOEXPERIMENT=$(TRAINER_GOEXPERIMENT) go build $(BUILD_FLAGS) -o $(BUILDDIR)/bin/ ./circuits/cmd/ceremony
	@echo "built $(BUILDDIR)/$(BINARY), $(BUILDDIR)/trainer, $(BUILDDIR)/lossplot and $(BUILDDIR)/bin/ceremony ($(VERSION))"

trainer: ## Build build/trainer (the model trainer: `build/trainer local --help`)
	@mkdir -p $(BUILDDIR)
	GOEXPERIMENT=$(TRAINER_GOEXPERIMENT) go build $(BUILD_FLAGS) -o $(BUILDDIR)/trainer ./trainer/cmd/trainer
	@echo "built $(BUILDDIR)/trainer ($(VERSION))"

# The XLA/PJRT backend (GPUs: `--backend xla:cuda` or the absolute path of a PJRT plugin) needs cgo
# and github.com/gomlx/go-xla; the default build and `make test` never compile it.
trainer-xla: ## Build build/trainer-xla: the trainer with the XLA/PJRT backend (-tags xla, cgo)
	@mkdir -p $(BUILDDIR)
	CGO_ENABLED=1 GOEXPERIMENT=$(TRAINER_GOEXPERIMENT) go build -tags "xla $(BUILD_TAGS)" -ldflags '$(ldflags)' -o $(BUILDDIR)/trainer-xla ./trainer/cmd/trainer
	@echo "built $(BUILDDIR)/trainer-xla ($(VERSION))"

install: ## Install protolearnd into $(go env GOPATH)/bin
	go install $(BUILD_FLAGS) ./node/cmd/$(BINARY)

clean: ## Remove build outputs, bench data and coverage files (keeps .localnet: see localnet-reset)
	rm -rf $(BUILDDIR) $(CURDIR)/.bench coverage.out coverage.txt coverage.html

###############################################################################
###                                  Tests                                  ###
###############################################################################

# tools/ is a separate Go module, so ./... does not include it.
test: ## Run all unit and integration tests (go test ./...)
	go test -p $(TEST_PARALLEL) -timeout $(TEST_TIMEOUT) $(TEST_FLAGS) $(TEST_PKGS)

# checkptr is off because GoMLX v0.28's Go backend fails -race's pointer checks inside its
# matrix multiply (trainer/engine); the race detector itself stays on.
test-race: ## Run all tests with the race detector (slower; needs cgo and a C compiler)
	CGO_ENABLED=1 go test -race -gcflags=all=-d=checkptr=0 -p $(TEST_PARALLEL) -timeout 40m $(TEST_FLAGS) $(TEST_PKGS)

test-cover: ## Run all tests with coverage into coverage.out
	go test -p $(TEST_PARALLEL) -timeout $(TEST_TIMEOUT) -coverprofile=coverage.out -covermode=atomic $(TEST_FLAGS) $(TEST_PKGS)
	go tool cover -func=coverage.out | tail -n 1

###############################################################################
###                                  Lint                                   ###
###############################################################################

# Go files we own, NUL-separated: generated protobuf code (protocgen.sh) and contract bindings
# (abigen, make contracts-gen) are excluded.
FIND_GO_SRC = find . -type d \( -name build -o -name .localnet -o -name .bench -o -name .git -o -name node_modules \) -prune -o \
	-type f -name '*.go' -not -name '*.pb.go' -not -name '*.pb.gw.go' -not -name '*.pulsar.go' \
	-not -path './x/anchor/bindings/share_anchor.go' -print0

$(TOOLSDIR)/gofumpt: tools/go.mod tools/go.sum
	@mkdir -p $(TOOLSDIR)
	cd tools && go build -o $(TOOLSDIR)/ mvdan.cc/gofumpt

# golangci-lint, pinned, built once into build/tools (about a minute). `make lint` runs its
# depguard rules (.golangci.yml: the trainer links no app and no keeper); the whole linter set
# runs when a golangci-lint is on PATH (it still reports older findings: errcheck, staticcheck).
GOLANGCI_LINT_VERSION := v2.15.0
$(TOOLSDIR)/golangci-lint:
	@mkdir -p $(TOOLSDIR)
	GOBIN=$(abspath $(TOOLSDIR)) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

# gofumpt (pinned in tools/go.mod), go vet, the trainer's dependencies (depcheck and depguard).
lint: $(TOOLSDIR)/gofumpt $(TOOLSDIR)/golangci-lint depcheck ## Check formatting (gofumpt), go vet, the trainer's dependencies (depguard), and the whole golangci-lint set if one is on PATH
	@echo "--> gofumpt -l"
	@out=$$($(FIND_GO_SRC) | xargs -0 -r $(TOOLSDIR)/gofumpt -l); \
	if [ -n "$$out" ]; then echo "gofumpt would reformat (run 'make format'):"; echo "$$out"; exit 1; fi
	@echo "--> go vet ./..."
	go vet ./...
	@echo "--> go vet -tags xla ./trainer/backend (the XLA backend, cgo)"
	CGO_ENABLED=1 go vet -tags xla ./trainer/backend
	@echo "--> golangci-lint depguard"
	$(TOOLSDIR)/golangci-lint run --enable-only depguard --timeout 15m ./...
	@if command -v golangci-lint >/dev/null 2>&1; then \
		echo "--> golangci-lint run"; golangci-lint run --timeout 15m ./...; \
	else \
		echo "--> golangci-lint not installed: skipped"; \
	fi

# The trainer links no chain application and no keeper (also enforced by depguard in
# .golangci.yml and by trainer/chain's TestTrainerLinksNoChainApp).
depcheck: ## Fail if the trainer links the chain application or a keeper
	@bad=$$(go list -deps ./trainer/... | grep -E '^github.com/protolearn/protolearn/app(/|$$)|/keeper$$' || true); \
	if [ -n "$$bad" ]; then echo "the trainer links chain application packages:"; echo "$$bad"; exit 1; fi
	@echo "--> depcheck: the trainer links no chain application or keeper ($$(go list -deps ./trainer/cmd/trainer | wc -l) packages)"

format: $(TOOLSDIR)/gofumpt ## Rewrite Go files with gofumpt
	$(FIND_GO_SRC) | xargs -0 -r $(TOOLSDIR)/gofumpt -w

###############################################################################
###                                Protobuf                                 ###
###############################################################################

proto-gen: ## Regenerate Go code from proto/ (offline; see proto/README.md)
	bash scripts/protocgen.sh

proto-check: ## Regenerate and fail if the committed generated code differs
	bash scripts/protocheck.sh

ABIGEN_VERSION = v1.16.7

contracts-gen: ## Recompile contracts/ShareAnchor.sol (pinned solc-js, offline after npm ci) and regenerate its Go bindings (abigen)
	cd contracts && npm ci --no-audit --no-fund && node compile.js
	GOFLAGS=-mod=mod go run github.com/ethereum/go-ethereum/cmd/abigen@$(ABIGEN_VERSION) --abi contracts/artifacts/ShareAnchor.abi \
		--bin contracts/artifacts/ShareAnchor.bin --pkg bindings --type ShareAnchor --out x/anchor/bindings/share_anchor.go

###############################################################################
###                              Circuit keys                               ###
###############################################################################

KEYS_DIR    ?= $(BUILDDIR)/keys
KEYS_SHAPES ?=

# Large keys are made here, never inside `make test`. Skips shapes whose keys already load.
keys: ## DEV/LOCALNET tile keys (single-party setup, toxic waste known) into KEYS_DIR (build/keys)
	go run ./circuits/cmd/tilekeys -dir $(KEYS_DIR) $(if $(KEYS_SHAPES),-shapes $(KEYS_SHAPES))

###############################################################################
###                          Local chain and bench                          ###
###############################################################################

web: ## Build the web app (web/src) into web/dist, which protolearnd web embeds (npm ci from the npm registry; the built files are committed)
	cd web && npm ci --no-audit --no-fund && npm run build

demo: ## The whole loop on a localnet: 3-stage model, 3 honest trainers + 2 cheaters, spot checks, slashing, shares, revenue, paid inference through a gateway (CPU, about 15 minutes)
	bash scripts/demo.sh

localnet: ## Run a single-validator chain in .localnet/ in the foreground (Ctrl-C stops it)
	bash scripts/localnet.sh

localnet-reset: ## Wipe .localnet/ and start a fresh localnet
	LOCALNET_RESET=1 bash scripts/localnet.sh

localnet-stop: ## Stop a localnet started from another shell
	bash scripts/localnet.sh stop

random-ops: ## TestRandomOperations longer: RANDOM_SEEDS seeds from the clock (default 5) of RANDOM_BLOCKS blocks (default 1000); a failure prints its -random.seed
	bash scripts/random-ops.sh

fuzz: ## Run every native fuzz target for FUZZTIME each (default 30s); failing inputs land in testdata/fuzz, which make test replays
	bash scripts/fuzz.sh

bench: ## Cold build, binary size, MsgAddStake TPS, x/shares revenue gas, tile circuits, trainer, swarm, anchor, verification, inference; updates docs/BENCHMARKS.md
	bash scripts/bench-chain.sh
	bash scripts/bench-revenue.sh
	bash scripts/bench-circuits.sh
	bash scripts/bench-trainer.sh
	bash scripts/bench-swarm.sh
	bash scripts/bench-anchor.sh
	bash scripts/bench-verify.sh
	bash scripts/bench-infer.sh

bench-verify: ## Only verification: commit overhead per step, challenge proof time, on-chain verify time and gas, catch rate vs theory
	bash scripts/bench-verify.sh

bench-revenue: ## Only the x/shares revenue gas with 10 / 1,000 / 100,000 holders
	bash scripts/bench-revenue.sh

# BENCH_CIRCUIT_SHAPES="256:4" restricts the grid; BENCH_NO_DOCS=1 leaves docs/BENCHMARKS.md alone.
bench-circuits: ## Only the tile circuits (K 256/1024/4096 × T 4/16: setup, prove, verify, sizes, RSS) and commit throughput
	bash scripts/bench-circuits.sh

# BENCH_TRAINER_STEPS (800) scales the training runs; BENCH_NO_DOCS=1 leaves docs/ alone.
bench-anchor: ## Only the Ethereum anchor: contract gas (4 / 100 validators, verifyShares) and share-tree rebuild time
	bash scripts/bench-anchor.sh

bench-infer: ## Only inference: time to first token and tokens/s in process and through a swarm over 80 Mbit/50 ms, settlement gas per receipt (~10 min)
	bash scripts/bench-infer.sh

bench-swarm: ## Only the libp2p swarm: 4 stages over 80 Mbit/50 ms, compressed vs raw vs in-process, overhead, recovery (~5 min)
	bash scripts/bench-swarm.sh

bench-trainer: ## Only the trainer: compressed vs raw boundaries, 80 Mbit/50 ms links, async vs GPipe (~25 min)
	bash scripts/bench-trainer.sh

###############################################################################
###                                  Help                                   ###
###############################################################################

help: ## List targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort | expand -t 16

.DEFAULT_GOAL := build

.PHONY: build trainer trainer-xla install clean test test-race fuzz random-ops test-cover lint depcheck format proto-gen proto-check contracts-gen \
	keys web demo localnet localnet-reset localnet-stop bench bench-infer bench-revenue bench-circuits bench-trainer bench-swarm bench-anchor bench-verify help
