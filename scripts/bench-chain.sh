#!/usr/bin/env bash
# shellcheck disable=SC2015 # "A && B || die" is meant: die when any check fails.
# make bench: what protolearnd costs to build and how many x/compute txs a single-validator chain on
# this machine commits per second. Prints a markdown table and adds it to docs/BENCHMARKS.md.
#
#  (a) cold build: `make build` with an empty GOCACHE (module cache stays warm, so no downloads are
#      timed), wall and CPU time, and the size of the binary.
#  (b) MsgAddStake throughput: BENCH_ACCOUNTS accounts funded in genesis each register a worker
#      (tx compute register-worker), then each sends BENCH_TXS_PER_ACCOUNT `tx compute add-stake` txs.
#      The txs are signed offline beforehand (tx sign-batch with explicit sequences) and sent through
#      CometBFT's broadcast_tx_sync, so client start-up time is not measured. TPS = successful txs in
#      the blocks that carried load / the block time those blocks span.
#
# Environment:
#   BENCH_ACCOUNTS (20), BENCH_TXS_PER_ACCOUNT (400), BENCH_SKIP_COLD_BUILD=1 (skip part a),
#   BENCH_NO_DOCS=1 (do not touch docs/BENCHMARKS.md), PROTOLEARND (use this binary, no make build),
#   BENCH_RPC_PORT (26757; 26758 is also taken), BENCH_P2P_PORT (26756), BENCH_GRPC_PORT (9190),
#   BENCH_API_PORT (1417).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

ACCOUNTS=${BENCH_ACCOUNTS:-20}
TXS=${BENCH_TXS_PER_ACCOUNT:-400}
# Below the kernel's ephemeral range (32768+), where outgoing connections could take them.
RPC_PORT=${BENCH_RPC_PORT:-26757}
P2P_PORT=${BENCH_P2P_PORT:-26756}
GRPC_PORT=${BENCH_GRPC_PORT:-9190}
API_PORT=${BENCH_API_PORT:-1417}
CHAIN_ID=protolearn-bench-1
BENCH_DIR=$repo/.bench
NODE_HOME=$BENCH_DIR/node
GAS=300000
STAKE_STEP=1000ulearn # each add-stake tx bonds this much more

# Distinct valid Ed25519 libp2p peer ids, one per worker (x/compute refuses a peer id used twice).
PEER_IDS=(
  12D3KooWNA79ZEVxCKqfF5NMEtn9tunHcCfLu8bvqLc8M72QM371 12D3KooWC8WxdaigBEEqY4NJ5rt42smvo4GAHwgoH7aeesVWUZB6
  12D3KooWEKfc9Jf8UEZrYWwiJAxBqC1cJPbyaTVyRqb8j9vE7Cvs 12D3KooWPDMSuSz2HPALdNDfkYTAvDUjDhN2JRCL9W39trebX356
  12D3KooWPqiocnLnL8Z8WvBcRCSuuiS9iXwEZ6LhkE7wJ64QBfk4 12D3KooWSNVtLTStfgdVLzwctEukQED4UihXbhqjdXYGhbNYuEMD
  12D3KooWL6KNSp8wHw3gxP9Qd9wXsLRzRQHXGZz4aUFzB3CQ35ZW 12D3KooWKQ5o1YBbKbwFGXvM4Ae9rXrFsoEiDGu419kFsDiZ7Q1m
  12D3KooWShrzgP8gmn6ui5HT7bnADNmnv88SGboQudCx8stCPuYK 12D3KooWLGvwNNkaou8NRie926cygcprrK9z5PEP9yFhbCe8Sq4N
  12D3KooWSjnRBQFxFjkS32FBfByvCWKUmzRf8GYRL1pZTCw4MFLB 12D3KooWPmSLpjNoY9P46TAc9ib1gPpWNGQj9EWrTAd3PyXRk7zx
  12D3KooW9yRAutax86jAh7PCoQ19zNyeQ82naEcdxQq61JS4xV2B 12D3KooWHCkdifEwrneaXS7QTGA3yvtDSMvdjLhJyZhVAC3RFUU2
  12D3KooWFuQHUkuGpapBZ8khyDS3rc2ouPbcSnFNByTNhviE2uj8 12D3KooWFCeCgGWVmwQ7LLUrfPjWqvNPW9tUqCwic247F8ZF3aux
  12D3KooWRYEUXP5YAvhsvEoAAEcUhXcL24WeYHBs34RQagZRjuSQ 12D3KooWAZDB7sG5vdknHmw6Yuu93i5Si388DeaSsQkpxBYYTiNa
  12D3KooWMeBA5QJkPQ365BipGfzg48wTuP3uetFqVK4a2iPL3Eiq 12D3KooWSaZWoAShqr6F61MHrEc1Dbd15HBTb6Zg3dJbZMyH3yGS
  12D3KooWRmZLwa9XuzVsfwU16aXJXibX2Em2877XGyCbhGX63M75 12D3KooWCmf34e2N3t3rZ4w5kfdj7XwYnsgwiSexP8j9CRhS8m8b
  12D3KooWQYb73z4j2vw2RGtKxT9NKjKNP54mMNvhpJA4HjTMoakT 12D3KooWKpr5aCE4hPz4pnTGtvXqKHUUpDKAWiTuXPepWSTeFFcF
  12D3KooWFC87ys9MrkmqzBMxGt1P7U2334hUJjQBMaQzKL95bYfN 12D3KooWAVLtsaBqtwckpHhkFBAVtVS1B87q7sxJyVikHRk1T3Q6
  12D3KooWLNxHJWb5QtT7sjmkxUFrGWmDzVMMg3oZC4u3kCz71Abv 12D3KooWEFabr3p9s5bCFsAsJwyBfo7VmuQcJL12VRC2jF48WdkE
  12D3KooWS2QKDdsU3zvGhRcpvt2ojN7goy8iTdq7ECgDkx4dwmMp 12D3KooW9sqf7GMkSPoDjD9MzrEu4kpH8G48GNUGZmBmbET9n2Z3
  12D3KooWA2onLWAqNuEfSASbkJif6uLA4u7oc9PAFAUVfw5QiDYW 12D3KooWFDj6xMxs84T9KL6pzT2Y776CoYSnNAzTVeybh7E7Es1d
  12D3KooWCFC7u457sESAC2XV8cMoMK99kdHdZafW81iBwzE9my18 12D3KooWJEDyCFdMqGhYUVHTWVrW5GcdXuFvpvvSLEnyqzRoyMmT
  12D3KooWBDGKyot3zo1UXFwdigrrdvNJYPoNquoqMpoTmTJkigtb 12D3KooWSbBewnGz6TKAVjuj8sTSm55YJ5NnPLTtQpeNzJwxQUAX
  12D3KooWJ4rbQAwFhF41BzSQ7M3F2kQkaX7hUFEjuVAomfuDERe6 12D3KooWC9RfDBXTEJ4b2yJamHZ3WVnjka5hrnvkJfJbfgJvmV5a
  12D3KooWAdJnqsowSpL6fFT8rZRa2MVpF8YzFnTRNuaVcT56j4fa 12D3KooWDeH1jY4eetf5nBJDo52BZuWGAoN11kzk7vvGQXGKgx2c
)

[[ "$ACCOUNTS" =~ ^[0-9]+$ ]] && [ "$ACCOUNTS" -ge 1 ] && [ "$ACCOUNTS" -le ${#PEER_IDS[@]} ] ||
  die "BENCH_ACCOUNTS must be 1..${#PEER_IDS[@]}, got '$ACCOUNTS'"
[[ "$TXS" =~ ^[0-9]+$ ]] && [ "$TXS" -ge 1 ] || die "BENCH_TXS_PER_ACCOUNT must be a positive integer, got '$TXS'"
command -v curl >/dev/null || die "curl is required (Debian: apt-get install -y curl)"
need_jq

bench_start=$(date +%s)
mkdir -p "$BENCH_DIR"
node_pid=
cold_cache=
cleanup() {
  if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
    kill -INT "$node_pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$node_pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$node_pid" 2>/dev/null || true
  fi
  [ -z "$cold_cache" ] || rm -rf "$cold_cache"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if pgrep -x protolearnd >/dev/null 2>&1; then
  log "warning: another protolearnd is running on this machine; it competes for CPU and skews the numbers"
fi

# seconds_between T0 T1 prints T1 - T0 for two timestamps in any format GNU date reads (RFC 3339 with ns).
seconds_between() { awk -v a="$(date -d "$1" +%s.%N)" -v b="$(date -d "$2" +%s.%N)" 'BEGIN { printf "%.6f", b - a }'; }
# calc EXPR evaluates a floating-point expression.
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
fmt() { printf "%.${2:-2}f" "$1"; }

###############################################################################
# (a) cold build
###############################################################################
cold_wall='' cold_user='' cold_sys='' cold_size=''
if [ "${BENCH_SKIP_COLD_BUILD:-0}" != 1 ]; then
  log "(a) cold build of protolearnd: empty GOCACHE, warm module cache (this takes several minutes)"
  go mod download
  cold_cache=$(mktemp -d "$BENCH_DIR/gocache.XXXXXX")
  TIMEFORMAT='%R %U %S'
  { time GOCACHE=$cold_cache make --no-print-directory build BUILDDIR="$BENCH_DIR/cold" >"$BENCH_DIR/cold-build.log" 2>&1; } 2>"$BENCH_DIR/cold-build.time" ||
    die "cold build failed: see $BENCH_DIR/cold-build.log"
  read -r cold_wall cold_user cold_sys <"$BENCH_DIR/cold-build.time"
  cold_size=$(stat -c %s "$BENCH_DIR/cold/protolearnd")
  rm -rf "$cold_cache" "$BENCH_DIR/cold"
  cold_cache=
  log "cold build: ${cold_wall}s wall, $(fmt "$(calc "$cold_user + $cold_sys")" 0)s CPU, binary $cold_size bytes"
fi

###############################################################################
# (b) MsgAddStake throughput
###############################################################################
protolearnd_binary
bin_size=$(stat -c %s "$BIN")

for p in "$RPC_PORT" "$P2P_PORT" "$GRPC_PORT" "$API_PORT" "$((RPC_PORT + 1))"; do
  port_in_use "$p" && die "port $p on 127.0.0.1 is in use: set BENCH_RPC_PORT and friends"
done

rm -rf "$NODE_HOME"
log "creating chain $CHAIN_ID with $ACCOUNTS funded accounts in $NODE_HOME"
kr=(--keyring-backend test --home "$NODE_HOME")
account_flags=()
for ((i = 0; i < ACCOUNTS; i++)); do account_flags+=(--account "$(printf 'acc%02d' "$i")=1000000000000ulearn"); done
# The one local-chain set-up (protolearnd testnet init-files), as make localnet and make demo use it.
out=$("$BIN" testnet init-files --v 1 --single-home --output-dir "$NODE_HOME" --home "$NODE_HOME" \
  --chain-id "$CHAIN_ID" --node-dir-prefix bench --key-name validator --anchor-keys=false "${account_flags[@]}" \
  --rpc-port "$RPC_PORT" --abci-port $((RPC_PORT + 1)) --p2p-port "$P2P_PORT" --grpc-port "$GRPC_PORT" \
  --api-port "$API_PORT" --commit-timeout 1s --propose-timeout 1s 2>&1) || die "protolearnd testnet init-files failed: $out"
# init-files prints "account NAME: ADDRESS, COINS" per --account, in order.
mapfile -t addrs < <(sed -n 's/^account acc[0-9]*: \([^,]*\),.*/\1/p' <<<"$out")
[ "${#addrs[@]}" = "$ACCOUNTS" ] || die "init-files made ${#addrs[@]} of $ACCOUNTS accounts: $out"
# Room for every tx at once in CometBFT's mempool (default 5000 txs).
mempool_size=$((ACCOUNTS * TXS * 2 > 5000 ? ACCOUNTS * TXS * 2 : 5000))
toml_set "$NODE_HOME/config/config.toml" mempool size "$mempool_size"
toml_set "$NODE_HOME/config/config.toml" mempool cache_size "$((mempool_size * 2))"
min_stake=$(jq -r '.app_state.compute.params.min_worker_stake | "\(.amount)\(.denom)"' "$NODE_HOME/config/genesis.json")

log "starting the node (log: $NODE_HOME/node.log)"
"$BIN" start --home "$NODE_HOME" >"$NODE_HOME/node.log" 2>&1 &
node_pid=$!
wait_for_height "$RPC_PORT" 2 120 "$node_pid" ||
  die "the node made no block 2 within 120 s or stopped; end of $NODE_HOME/node.log:
$(tail -n 5 "$NODE_HOME/node.log")"
for _ in $(seq 1 40); do curl -fsS "http://127.0.0.1:$API_PORT/cosmos/base/tendermint/v1beta1/node_info" >/dev/null 2>&1 && break; sleep 0.5; done
idle_h0=$(latest_height "$RPC_PORT")

tx_flags=(--chain-id "$CHAIN_ID" --node "tcp://127.0.0.1:$RPC_PORT" "${kr[@]}" --gas "$GAS" -y -o json)

log "registering $ACCOUNTS workers (tx compute register-worker, stake $min_stake each)"
for ((i = 0; i < ACCOUNTS; i++)); do
  name=$(printf 'acc%02d' "$i")
  out=$("$BIN" tx compute register-worker "${PEER_IDS[$i]}" "$min_stake" \
    --multiaddrs "/ip4/127.0.0.1/tcp/$((4001 + i))" \
    --hardware '{"accelerator":"cpu","memory_gib":16,"bandwidth_mbps":100}' \
    --from "$name" "${tx_flags[@]}" 2>&1) || die "register-worker from $name failed: $out"
  [ "$(jq -r '.code' <<<"$out" 2>/dev/null)" = 0 ] || die "register-worker from $name rejected: $out"
done
h=$(latest_height "$RPC_PORT")
wait_for_height "$RPC_PORT" $((h + 2)) 30 || die "chain stalled after register-worker"
nworkers=$(curl -fsS "http://127.0.0.1:$API_PORT/protolearn/compute/v1/workers?pagination.limit=1000" | jq '.workers | length')
[ "$nworkers" -ge "$ACCOUNTS" ] || die "$nworkers workers registered, expected $ACCOUNTS: see $NODE_HOME/node.log"

log "signing $((ACCOUNTS * TXS)) add-stake txs offline ($TXS per account, explicit sequences)"
sign_dir=$BENCH_DIR/txs
rm -rf "$sign_dir"
mkdir -p "$sign_dir"
for ((i = 0; i < ACCOUNTS; i++)); do
  name=$(printf 'acc%02d' "$i")
  acct=$(curl -fsS "http://127.0.0.1:$API_PORT/cosmos/auth/v1beta1/accounts/${addrs[$i]}") || die "account ${addrs[$i]} not found"
  accnum=$(jq -r '.account.account_number // .account.base_account.account_number' <<<"$acct")
  seq=$(jq -r '.account.sequence // .account.base_account.sequence' <<<"$acct")
  "$BIN" tx compute add-stake "$STAKE_STEP" --from "$name" --generate-only \
    --chain-id "$CHAIN_ID" "${kr[@]}" --gas "$GAS" 2>/dev/null | jq -c . >"$sign_dir/$name.unsigned" ||
    die "tx compute add-stake --generate-only failed for $name"
  for ((j = 0; j < TXS; j++)); do cat "$sign_dir/$name.unsigned"; done >"$sign_dir/$name.batch"
  "$BIN" tx sign-batch "$sign_dir/$name.batch" --from "$name" --offline --account-number "$accnum" \
    --sequence "$seq" --chain-id "$CHAIN_ID" "${kr[@]}" >"$sign_dir/$name.signed" 2>"$sign_dir/$name.err" ||
    die "tx sign-batch failed for $name: $(cat "$sign_dir/$name.err")"
  [ "$(grep -c . "$sign_dir/$name.signed")" = "$TXS" ] || die "sign-batch for $name gave $(grep -c . "$sign_dir/$name.signed") txs, want $TXS"
  # Encode the signed JSON txs to protobuf bytes through the node's REST API: one curl process per
  # account, one request per tx (--next), instead of a `tx encode` process per tx.
  args=()
  n=0
  while IFS= read -r line; do
    n=$((n + 1))
    printf '{"tx":%s}' "$line" >"$sign_dir/$name.enc.$n"
    [ "$n" = 1 ] || args+=(--next)
    args+=(-sS -X POST -H 'Content-Type: application/json' --data-binary "@$sign_dir/$name.enc.$n" -w '\n'
      "http://127.0.0.1:$API_PORT/cosmos/tx/v1beta1/encode")
  done <"$sign_dir/$name.signed"
  curl "${args[@]}" | jq -r '.tx_bytes' |
    jq -R -c '{jsonrpc: "2.0", id: 0, method: "broadcast_tx_sync", params: {tx: .}}' >"$sign_dir/$name.rpc"
  [ "$(grep -c '"tx":"[A-Za-z0-9+/=]\{8,\}"' "$sign_dir/$name.rpc")" = "$TXS" ] ||
    die "encoding the txs of $name failed (REST /cosmos/tx/v1beta1/encode): see $sign_dir/$name.rpc"
  n=0
  while IFS= read -r req; do
    n=$((n + 1))
    printf '%s' "$req" >"$sign_dir/$name.req.$n"
  done <"$sign_dir/$name.rpc"
done

idle_h1=$(latest_height "$RPC_PORT")
h0=$idle_h1
log "broadcasting from $ACCOUNTS accounts at once (height $h0)"
submit_t0=$(date +%s.%N)
pids=()
for ((i = 0; i < ACCOUNTS; i++)); do
  name=$(printf 'acc%02d' "$i")
  (
    args=()
    for ((n = 1; n <= TXS; n++)); do
      [ "$n" = 1 ] || args+=(--next)
      args+=(-sS -X POST -H 'Content-Type: application/json' --data-binary "@$sign_dir/$name.req.$n" "http://127.0.0.1:$RPC_PORT/")
    done
    curl "${args[@]}" >"$sign_dir/$name.resp"
  ) &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || die "broadcasting failed"; done
submit_t1=$(date +%s.%N)
rejected=$(cat "$sign_dir"/*.resp | jq -s '[.[] | select(.error != null or .result.code != 0)] | length')
first_reject=$(cat "$sign_dir"/*.resp | jq -cs '[.[] | select(.error != null or .result.code != 0)][0] // empty')
accepted=$((ACCOUNTS * TXS - rejected))
log "submitted in $(fmt "$(calc "$submit_t1 - $submit_t0")") s: $accepted accepted by CheckTx, $rejected rejected ${first_reject:+(first: $first_reject)}"

log "waiting for the mempool to drain"
for _ in $(seq 1 600); do
  n=$(curl -fsS "http://127.0.0.1:$RPC_PORT/num_unconfirmed_txs" | jq -r '.result.total')
  [ "$n" = 0 ] && break
  sleep 0.5
done
[ "$n" = 0 ] || log "warning: $n txs still in the mempool after 300 s"
h1=$(latest_height "$RPC_PORT")
wait_for_height "$RPC_PORT" $((h1 + 1)) 30 || true
h1=$(latest_height "$RPC_PORT")

# Scan the blocks after h0: txs per block, successful txs per block, block times.
declare -A btime
total_ok=0 total_txs=0 hs=0 he=0 max_block=0
for ((h = h0 + 1; h <= h1; h++)); do
  blk=$(curl -fsS "http://127.0.0.1:$RPC_PORT/block?height=$h")
  n=$(jq '.result.block.data.txs | length' <<<"$blk")
  btime[$h]=$(jq -r '.result.block.header.time' <<<"$blk")
  [ "$n" -gt 0 ] || continue
  ok=$(curl -fsS "http://127.0.0.1:$RPC_PORT/block_results?height=$h" | jq '[.result.txs_results[]? | select((.code // 0) == 0)] | length')
  total_txs=$((total_txs + n))
  total_ok=$((total_ok + ok))
  [ "$n" -le "$max_block" ] || max_block=$n
  [ "$hs" != 0 ] || hs=$h
  he=$h
done
[ "$hs" != 0 ] || die "no block after height $h0 carried a tx: see $NODE_HOME/node.log"
btime[$h0]=$(curl -fsS "http://127.0.0.1:$RPC_PORT/block?height=$h0" | jq -r '.result.block.header.time')
prev=$((hs - 1))
[ -n "${btime[$prev]:-}" ] || btime[$prev]=$(curl -fsS "http://127.0.0.1:$RPC_PORT/block?height=$prev" | jq -r '.result.block.header.time')
span=$(seconds_between "${btime[$prev]}" "${btime[$he]}")
nblocks=$((he - hs + 1))
tps=$(calc "$total_ok / $span")
block_time=$(calc "$span / $nblocks")
t_idle0=$(curl -fsS "http://127.0.0.1:$RPC_PORT/block?height=$idle_h0" | jq -r '.result.block.header.time')
t_idle1=$(curl -fsS "http://127.0.0.1:$RPC_PORT/block?height=$idle_h1" | jq -r '.result.block.header.time')
idle_block_time=n/a
[ "$idle_h1" -le "$idle_h0" ] || idle_block_time=$(fmt "$(calc "$(seconds_between "$t_idle0" "$t_idle1") / ($idle_h1 - $idle_h0)")")

# Cross-check: one worker's bonded stake grew by exactly its committed add-stake txs.
bonded0=$(curl -fsS "http://127.0.0.1:$API_PORT/protolearn/compute/v1/workers/${addrs[0]}" | jq -r '.worker.bonded.amount')

cleanup
node_pid=
elapsed=$(($(date +%s) - bench_start))

###############################################################################
# Report
###############################################################################
machine=$(bench_machine)
commit=$(git describe --tags --always --dirty 2>/dev/null || echo "no commit")
today=$(date -u +%Y-%m-%d)
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

table=$(
  echo "| metric | value |"
  echo "| --- | --- |"
  if [ -n "$cold_wall" ]; then
    echo "| cold build, wall (empty GOCACHE, warm module cache) | $(fmt "$cold_wall" 0) s |"
    echo "| cold build, CPU (user + sys) | $(fmt "$(calc "$cold_user + $cold_sys")" 0) s |"
  fi
  echo "| binary size (protolearnd, not stripped) | $(mib "$bin_size") MiB |"
  echo "| workers registered (register-worker) | $nworkers |"
  echo "| add-stake txs sent ($ACCOUNTS accounts × $TXS) | $((ACCOUNTS * TXS)) |"
  echo "| accepted by CheckTx | $accepted |"
  echo "| submission rate (accepted txs / time to send them all) | $(fmt "$(calc "$accepted / ($submit_t1 - $submit_t0)")" 0) tx/s |"
  echo "| committed in blocks / of them successful | $total_txs / $total_ok |"
  echo "| blocks carrying the load (heights $hs–$he) | $nblocks (max $max_block txs in one) |"
  echo "| **TPS** (successful txs / block time spanned) | **$(fmt "$tps" 1)** |"
  echo "| mean block time under load | $(fmt "$block_time") s |"
  echo "| mean block time idle (timeout_commit 1 s) | $idle_block_time s |"
)

cat <<EOF

## protolearnd benchmark, $today ($commit)

Machine: $machine

$table

acc00 bonded stake after the run: ${bonded0}ulearn (min stake $min_stake + $TXS × $STAKE_STEP expected).
Whole bench took ${elapsed} s.
EOF

if [ "${BENCH_NO_DOCS:-0}" != 1 ]; then
  doc=$repo/docs/BENCHMARKS.md
  mkdir -p "$(dirname "$doc")"
  [ -f "$doc" ] || printf '# Benchmarks\n\n<!-- bench-results: scripts/bench-chain.sh adds runs below this line, newest first -->\n' >"$doc"
  grep -q '<!-- bench-results' "$doc" || printf '\n<!-- bench-results: scripts/bench-chain.sh adds runs below this line, newest first -->\n' >>"$doc"
  entry=$(mktemp)
  {
    echo
    echo "### $today, $commit"
    echo
    echo "Machine: $machine. Go $(go env GOVERSION | sed 's/^go//'). $ACCOUNTS accounts × $TXS \`MsgAddStake\` txs, single validator, \`timeout_commit = 1s\`."
    echo
    echo "$table"
  } >"$entry"
  awk -v f="$entry" '{ print } /<!-- bench-results/ && !done { while ((getline l < f) > 0) print l; done = 1 }' "$doc" >"$doc.tmp"
  mv "$doc.tmp" "$doc"
  rm -f "$entry"
  log "added this run to docs/BENCHMARKS.md"
fi
