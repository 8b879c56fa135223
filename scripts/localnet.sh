#!/usr/bin/env bash
# shellcheck disable=SC2015 # "A && B || die" is meant: die when any check fails.
# make localnet: a single-validator protolearn chain for local work, in the foreground (Ctrl-C stops it).
#
# The first run creates .localnet/ (chain id protolearn-local-1, keys `validator` and `alice` in a test
# keyring inside it, short governance and x/compute durations); later runs restart the same chain.
# Everything listens on 127.0.0.1 only.
#
# `scripts/localnet.sh stop` stops a localnet that runs in another shell.
#
# Environment:
#   LOCALNET_RESET=1          wipe .localnet/ first (same as `make localnet-reset`)
#   LOCALNET_HOME             node home (default: <repo>/.localnet)
#   LOCALNET_RPC_PORT         CometBFT RPC (26657)        LOCALNET_P2P_PORT   P2P (26656)
#   LOCALNET_GRPC_PORT        gRPC (9090)                 LOCALNET_API_PORT   REST API (1317)
#   LOCALNET_PROMETHEUS_PORT  CometBFT metrics (26660; empty disables)
#   LOCALNET_LOG_LEVEL        node log level (info)
#   LOCALNET_CEREMONY_DIR     tile keys from ceremonies, <shape>/verifying.key (build/ceremony), put in genesis
#   PROTOLEARND               use this binary instead of building build/protolearnd
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

CHAIN_ID=protolearn-local-1
HOME_DIR=${LOCALNET_HOME:-$repo/.localnet}
RPC_PORT=${LOCALNET_RPC_PORT:-26657}
P2P_PORT=${LOCALNET_P2P_PORT:-26656}
GRPC_PORT=${LOCALNET_GRPC_PORT:-9090}
API_PORT=${LOCALNET_API_PORT:-1317}
PROM_PORT=${LOCALNET_PROMETHEUS_PORT-26660}
LOG_LEVEL=${LOCALNET_LOG_LEVEL:-info}
CEREMONY_DIR=${LOCALNET_CEREMONY_DIR:-$repo/build/ceremony}

# Genesis balances and the validator's self-bond, in ulearn (10^6 ulearn = 1 LEARN).
VALIDATOR_BALANCE=1000000000000 # 1,000,000 LEARN
VALIDATOR_BOND=100000000000     #   100,000 LEARN
ALICE_BALANCE=1000000000000     # 1,000,000 LEARN
# Example peer id printed for register-worker (a valid Ed25519 libp2p id; any trainer's id works).
EXAMPLE_PEER_ID=12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA

case "$HOME_DIR" in /*) ;; *) HOME_DIR=$repo/$HOME_DIR ;; esac
pidfile=$HOME_DIR/protolearnd.pid

for p in "$RPC_PORT" "$P2P_PORT" "$GRPC_PORT" "$API_PORT" ${PROM_PORT:+"$PROM_PORT"}; do
  [[ "$p" =~ ^[0-9]+$ ]] && [ "$p" -gt 0 ] && [ "$p" -lt 65536 ] || die "bad port '$p' in LOCALNET_*_PORT"
done

# `localnet.sh stop` (make localnet-stop) stops a localnet running in another shell.
if [ "${1:-}" = stop ]; then
  if ! node_running "$pidfile" "$HOME_DIR"; then
    rm -f "$pidfile"
    echo "no localnet running in $HOME_DIR"
    exit 0
  fi
  pid=$(cat "$pidfile")
  kill -INT "$pid"
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
  rm -f "$pidfile"
  echo "localnet stopped (pid $pid)"
  exit 0
fi

need_jq

# A localnet that is already running must be stopped first: two nodes on one home corrupt it.
if node_running "$pidfile" "$HOME_DIR"; then
  die "a localnet is already running (pid $(cat "$pidfile"), home $HOME_DIR): stop it with Ctrl-C in its shell or 'make localnet-stop'"
fi
rm -f "$pidfile"

protolearnd_binary

if [ "${LOCALNET_RESET:-0}" = 1 ] && [ -d "$HOME_DIR" ]; then
  log "LOCALNET_RESET=1: removing $HOME_DIR"
  rm -rf "$HOME_DIR"
fi
if [ -d "$HOME_DIR" ] && [ ! -f "$HOME_DIR/.initialized" ]; then
  log "$HOME_DIR is a half-finished set-up (no .initialized marker): starting over"
  rm -rf "$HOME_DIR"
fi

keys() { "$BIN" keys "$@" --keyring-backend test --home "$HOME_DIR"; }

if [ ! -d "$HOME_DIR" ]; then
  log "creating chain $CHAIN_ID in $HOME_DIR"
  # The one local-chain set-up (node/cli/testnet*.go), as make demo and the node end-to-end tests
  # run it. Local durations (scripts/localnet-genesis.json): 60 s governance votes, 120 s compute
  # unbonding, 60 s jail. The tile verifying keys of the ceremonies run here (make demo, or
  # scripts/ceremony.sh SHAPE build/ceremony/SHAPE); later ones are added by governance (x/verify
  # MsgUpdateParams). The mnemonics are kept in $HOME_DIR/mnemonics; test keys only.
  out=$("$BIN" testnet init-files --v 1 --single-home --output-dir "$HOME_DIR" --home "$HOME_DIR" \
    --chain-id "$CHAIN_ID" --node-dir-prefix localnet --key-name validator --anchor-keys=false \
    --balance "${VALIDATOR_BALANCE}ulearn" --self-delegation "${VALIDATOR_BOND}ulearn" \
    --account "alice=${ALICE_BALANCE}ulearn" \
    --verifying-keys "$CEREMONY_DIR" --genesis-overrides scripts/localnet-genesis.json \
    --p2p-port "$P2P_PORT" --rpc-port "$RPC_PORT" --abci-port $((RPC_PORT + 1)) --grpc-port "$GRPC_PORT" \
    --api-port "$API_PORT" --prometheus-port "${PROM_PORT:-0}" --commit-timeout 1s --propose-timeout 1s 2>&1) ||
    die "protolearnd testnet init-files failed: $out"
  log "verifying keys in genesis: $(jq -r '.app_state.verify.params.verifying_keys | map(.shape) | if length == 0 then "none (no ceremony in '"$CEREMONY_DIR"')" else join(", ") end' "$HOME_DIR/config/genesis.json")"
  touch "$HOME_DIR/.initialized"
else
  log "restarting the existing chain in $HOME_DIR (LOCALNET_RESET=1 or 'make localnet-reset' wipes it)"
fi

for p in "$RPC_PORT" "$P2P_PORT" "$GRPC_PORT" "$API_PORT" ${PROM_PORT:+"$PROM_PORT"}; do
  port_in_use "$p" && die "port $p on 127.0.0.1 is in use (another node?): free it or set LOCALNET_*_PORT"
done

alice=$(keys show alice -a)
validator=$(keys show validator -a)
min_stake=$(jq -r '.app_state.compute.params.min_worker_stake | "\(.amount)\(.denom)"' "$HOME_DIR/config/genesis.json")
tx_flags="--home $HOME_DIR --keyring-backend test --chain-id $CHAIN_ID --node tcp://127.0.0.1:$RPC_PORT"
q_flags="--home $HOME_DIR --node tcp://127.0.0.1:$RPC_PORT"

cat <<EOF

protolearn localnet: chain $CHAIN_ID, home $HOME_DIR, blocks every ~1 s
  validator  $validator
  alice      $alice  (funded with ${ALICE_BALANCE}ulearn; min_worker_stake is $min_stake)
  RPC        http://127.0.0.1:$RPC_PORT
  REST       http://127.0.0.1:$API_PORT   (e.g. /protolearn/compute/v1/workers)
  gRPC       127.0.0.1:$GRPC_PORT
  logs       this terminal; Ctrl-C (or 'make localnet-stop' elsewhere) stops the chain

In another shell:

  PLD=$BIN
  TXF="$tx_flags"
  QF="$q_flags"

  # register alice as a compute provider, bonding the minimum stake
  \$PLD tx compute register-worker $EXAMPLE_PEER_ID $min_stake \\
    --multiaddrs /ip4/127.0.0.1/tcp/4001 \\
    --hardware '{"accelerator":"cpu","memory_gib":16,"bandwidth_mbps":100}' \\
    --from alice \$TXF --gas auto --gas-adjustment 1.5 -y

  # a block later:
  \$PLD query compute worker $alice \$QF
  \$PLD query compute workers \$QF
  \$PLD tx compute add-stake 5000000ulearn --from alice \$TXF -y
  \$PLD query bank balances $alice \$QF

EOF

echo $$ >"$pidfile"
log "starting protolearnd (log level $LOG_LEVEL)"
# The listen addresses are given on every start, so changed LOCALNET_*_PORT values take effect on a
# restart (init-files wrote the first ones into config.toml and app.toml); the Prometheus address
# has no start flag, so it is set in config.toml.
"$BIN" config set node "tcp://127.0.0.1:$RPC_PORT" --home "$HOME_DIR" >/dev/null
if [ -n "$PROM_PORT" ]; then
  toml_set "$HOME_DIR/config/config.toml" instrumentation prometheus true
  toml_set "$HOME_DIR/config/config.toml" instrumentation prometheus_listen_addr "\"127.0.0.1:$PROM_PORT\""
else
  toml_set "$HOME_DIR/config/config.toml" instrumentation prometheus false
fi
exec "$BIN" start --home "$HOME_DIR" --log_level "$LOG_LEVEL" \
  --rpc.laddr "tcp://127.0.0.1:$RPC_PORT" --p2p.laddr "tcp://127.0.0.1:$P2P_PORT" \
  --proxy_app "tcp://127.0.0.1:$((RPC_PORT + 1))" --grpc.address "127.0.0.1:$GRPC_PORT" \
  --api.address "tcp://127.0.0.1:$API_PORT"
