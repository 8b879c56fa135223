#!/usr/bin/env bash
# make demo: the whole loop on one machine, on CPU, in a few minutes. It runs a local
# three-contributor trusted-setup ceremony for each tile shape of the model (once: cached in
# build/ceremony until the circuits change), starts a single-validator chain whose genesis carries
# the ceremony's verifying keys, creates a 3-stage model, registers and seats three honest compute
# providers and two cheaters: a second replica of stage 1 that fakes its designated layer
# (`trainer run --cheat`), and a second replica of stage 2 that trains on inputs of its own
# beside the real, signed ones (`--cheat-own-input`: every product it proves is consistent, but
# its input is not the payload it received); authorizes each trainer's hot key,
# and runs the five trainers over libp2p. As it goes it prints
# the training loss, attestations, spot checks and a third-party challenge with their outcomes;
# then both cheaters slashed, jailed and unseated (the second by an input challenge: its input
# does not derive from the payload its neighbour signed), the shares minted for verified work, a customer
# paying inference revenue and holders claiming it; then paid inference: the honest providers serve
# their stages from their checkpoints (trainer serve), a customer deposits for a gateway's key
# (trainer gateway) and asks it with curl, and the settled receipts pay the serving workers and
# raise the holders' claimable revenue; and the model's ownership table. Every process it starts
# is stopped on exit.
#
# Environment:
#   DEMO_DIR    working directory (default: a new /tmp/protolearn-demo.XXXXXX); kept afterwards
#   DEMO_STEPS  stage 0's training steps (120)
#   DEMO_PORT   first of the ports it uses on 127.0.0.1 (27600; it takes 20)
#   PROTOLEARND use this binary instead of building build/protolearnd (build/trainer is built too)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
SECONDS=0
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

DIR=${DEMO_DIR:-$(mktemp -d /tmp/protolearn-demo.XXXXXX)}
STEPS=${DEMO_STEPS:-120}
PORT=${DEMO_PORT:-27600}
CHAIN_ID=protolearn-local-1
RPC=$PORT GRPC=$((PORT + 3)) API=$((PORT + 4)) P2P=$((PORT + 2)) # proxy_app takes PORT+1
KEYS_DIR=$repo/build/ceremony # one directory per tile shape: transcript, proving.key, verifying.key
TRAINER=$repo/build/trainer
# The demo model: d_model 32, three stages of one block, 32-token context, rank-8 boundaries.
# Trainers send 2 sequences per microbatch, so the designated layer's tile has 64 rows.
ARCH='{"vocab":256,"d_model":32,"n_layers":3,"n_heads":2,"seq_len":32,"compression_rank":8}'
ROWS=2
SHAPES=forward-64x32x32-T4-tol4,backward-64x32x32-T4-tol4,tie-32x32x32-T4-tol0,input-64x8x32-V256-T4-tol0,embed-64x8x32-V256-T4-tol0
STAKE=200000000ulearn # 200 LEARN per provider
BOND=10000000ulearn   # the challenge bond

mkdir -p "$DIR"
HOME_DIR=$DIR/chain
pids=()     # every process started, stopped on exit
trainers=() # the trainers, stopped once training is verified
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for _ in $(seq 1 20); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.5
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# say prints a heading with the time since the demo started (bash's SECONDS).
say() { printf '\n\033[1m== %s\033[0m  [%dm%02ds]\n' "$*" $((SECONDS / 60)) $((SECONDS % 60)); }

need_jq
command -v curl >/dev/null || die "curl is required"
for p in $(seq "$PORT" $((PORT + 19))); do
  port_in_use "$p" && die "port $p on 127.0.0.1 is in use: set DEMO_PORT to a free range of 20 ports"
done
protolearnd_binary
[ -x "$TRAINER" ] || die "$TRAINER missing after make build"

say "Tile keys: a three-contributor Groth16 ceremony per shape (scripts/ceremony.sh), kept in $KEYS_DIR"
# Redone only when the circuits' code (or gnark) changed since: keys of another circuit never verify.
circuit=$( (find circuits/tile circuits/commit -maxdepth 1 -name '*.go' ! -name '*_test.go' | sort | xargs cat; grep 'consensys/gnark' go.sum) | sha256sum | cut -c1-16)
ceremonies=()
for s in ${SHAPES//,/ }; do
  d=$KEYS_DIR/$s
  if [ "$(cat "$d/.circuit" 2>/dev/null)" = "$circuit" ] && [ -s "$d/proving.key" ] && [ -s "$d/verifying.key" ]; then
    echo "  $s: from an earlier run (transcript in $d)"
    continue
  fi
  echo "  $s: running three contributions per phase (the first run takes a few minutes; log $DIR/ceremony-$s.log)"
  rm -rf "$d"
  mkdir -p "$KEYS_DIR"
  # build/bin/ceremony comes from make build (one compile of gnark for every binary), if it ran.
  ([ -x build/bin/ceremony ] && export CEREMONY_BIN=$repo/build/bin/ceremony
    bash scripts/ceremony.sh "$s" "$d" >"$DIR/ceremony-$s.log" 2>&1 && echo "$circuit" >"$d/.circuit") &
  ceremonies+=("$!")
  pids+=("$!")
done
for p in "${ceremonies[@]}"; do
  wait "$p" || die "a ceremony failed: see $DIR/ceremony-*.log"
done
for s in ${SHAPES//,/ }; do
  printf '  %s: verifying key sha256 %s\n' "$s" "$(sha256sum "$KEYS_DIR/$s/verifying.key" | cut -c1-16)"
done

say "Chain $CHAIN_ID in $HOME_DIR"
pld() { "$BIN" "$@" --home "$HOME_DIR"; }
accounts=(validator designer customer challenger watcher p0 p1 p2 cheater freeloader)
account_flags=()
for a in "${accounts[@]:1}"; do account_flags+=(--account "$a=1000000000000ulearn"); done
# The chain of node/e2e's TestTrainersOnChain, made by the same command with the same genesis
# values (scripts/demo-genesis.json; the test adds its faster timing on top): ~1 s blocks, the
# chain's default windows: 30 blocks to challenge (a verdict comes 20 blocks after a challenge, so
# work submitted up to 10 blocks before a caught cheater's challenge is still voided) and 20 to
# answer (on 2 cores shared by five trainers, an honest stage-0 worker challenged on three
# attestations in a row needed more than 10 blocks for its six proofs), attestations of 8 steps, half of them
# spot-checked, and the ceremonies' verifying keys. The keys' mnemonics are in $HOME_DIR/mnemonics.
out=$("$BIN" testnet init-files --v 1 --single-home --output-dir "$HOME_DIR" --home "$HOME_DIR" \
  --chain-id "$CHAIN_ID" --node-dir-prefix demo --key-name validator --anchor-keys=false "${account_flags[@]}" \
  --verifying-keys "$KEYS_DIR" --verifying-key-shapes "$SHAPES" --genesis-overrides scripts/demo-genesis.json \
  --rpc-port "$RPC" --abci-port $((RPC + 1)) --p2p-port "$P2P" --grpc-port "$GRPC" --api-port "$API" \
  --commit-timeout 1s --propose-timeout 1s 2>&1) || die "protolearnd testnet init-files failed: $out"
addr() { pld keys show "$1" -a --keyring-backend test; }

"$BIN" start --home "$HOME_DIR" --log_level warn >"$DIR/node.log" 2>&1 &
node_pid=$!
pids+=("$node_pid")
wait_for_height "$RPC" 2 60 "$node_pid" || die "the node did not start: see $DIR/node.log"
echo "node up: rpc http://127.0.0.1:$RPC, grpc 127.0.0.1:$GRPC, log $DIR/node.log"

# send FROM ARGS... runs `tx ARGS --from FROM` and waits until it is in a block; dies with the
# chain's reason if it was refused.
send() {
  local from=$1 out hash res code
  shift
  out=$(pld tx "$@" --from "$from" --keyring-backend test --chain-id "$CHAIN_ID" --node "tcp://127.0.0.1:$RPC" \
    --gas auto --gas-adjustment 1.5 -y --output json 2>"$DIR/tx.err") || die "tx $* by $from: $(cat "$DIR/tx.err")"
  hash=$(jq -r '.txhash' <<<"$out" 2>/dev/null) || die "tx $* by $from: $out"
  [ "$(jq -r '.code' <<<"$out")" = 0 ] || die "tx $* by $from refused: $(jq -r '.raw_log' <<<"$out")"
  for _ in $(seq 1 60); do
    if res=$(pld query tx "$hash" --node "tcp://127.0.0.1:$RPC" --output json 2>/dev/null); then
      code=$(jq -r '.code' <<<"$res")
      [ "$code" = 0 ] || die "tx $* by $from failed: $(jq -r '.raw_log' <<<"$res")"
      return 0
    fi
    sleep 0.5
  done
  die "tx $* by $from: not included after 30 s"
}
q() { pld query "$@" --node "tcp://127.0.0.1:$RPC" --output json; }

say "The designer creates model 1: 3 stages, d_model 32, byte-level"
# The dataset commitment is the Merkle root of the corpus the trainers sample (the Go source
# tree, capped at 8 MiB): stage 0 and the last stage refuse to start on any other.
dataset=$("$TRAINER" dataset-root --max-bytes 8MiB 2>"$DIR/dataset-root.err") || die "trainer dataset-root: $(cat "$DIR/dataset-root.err")"
echo "  dataset: $(cat "$DIR/dataset-root.err"), root $dataset"
# The subspace root commits the compression tables (U, T_fixed from the seed) that the input tile
# opens: a stage's designated input provably derives from the payload its neighbour signed.
subspace=$("$TRAINER" subspace-root --arch "$ARCH" --seed 7) || die "trainer subspace-root failed"
echo "  compression tables: root $subspace"
send designer models create-model demo-lm --arch "$ARCH" \
  --stages '{"layers":1}' --stages '{"layers":1}' --stages '{"layers":1}' \
  --seed 7 --dataset-commitment "$dataset" --subspace-root "$subspace" --designer-bps 1000 \
  --min-stake 100000000ulearn --max-replicas-per-stage 2 --target-work-units 1000000 \
  --microbatches-per-step 2

say "Five providers register (stake $STAKE), authorize their trainers' hot keys and take seats (p2's trainer takes its own: --join-stage)"
declare -A stage_of=([p0]=0 [p1]=1 [cheater]=1 [p2]=2 [freeloader]=2)
declare -A port_of=([p0]=$((PORT + 10)) [p1]=$((PORT + 11)) [cheater]=$((PORT + 12)) [p2]=$((PORT + 13)) [freeloader]=$((PORT + 14)))
for w in p0 p1 cheater p2 freeloader; do
  mkdir -p "$DIR/$w"
  peer=$("$TRAINER" peer-id --key "$DIR/$w/peer.key")
  hot=$("$TRAINER" hot-key --hot-key "$DIR/$w/hot.key")
  send "$w" compute register-worker "$peer" "$STAKE" --multiaddrs "/ip4/127.0.0.1/tcp/${port_of[$w]}" \
    --hardware '{"accelerator":"cpu","memory_gib":8,"bandwidth_mbps":100}'
  send "$w" verify authorize-trainer "$hot" --model 1 --stage "${stage_of[$w]}" --spend-limit 10000000ulearn
  [ "$w" = p2 ] || [ "$w" = freeloader ] || send "$w" models join-stage 1 "${stage_of[$w]}"
  printf '  %-8s %s  stage %s  peer %s  hot key %s\n' "$w" "$(addr "$w")" "${stage_of[$w]}" "$peer" "$hot"
done
echo "model 1 is $(q models model 1 | jq -r .model.status)"

say "Trainers start (CPU, Go source tree as data); the cheater runs with --cheat 1, the freeloader with --cheat-own-input 1"
start_trainer() {
  local w=$1
  shift
  "$TRAINER" run --model 1 --chain "127.0.0.1:$GRPC" --chain-rpc "tcp://127.0.0.1:$RPC" \
    --operator "$(addr "$w")" --hot-key "$DIR/$w/hot.key" --key "$DIR/$w/peer.key" \
    --listen "/ip4/127.0.0.1/tcp/${port_of[$w]}" --rows "$ROWS" --max-bytes 8MiB \
    --keys "$KEYS_DIR" --out "$DIR/$w" --dht=false --quiet --log-every 5s --chain-poll 1s --eval-every 20 "$@" \
    >"$DIR/$w/trainer.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  trainers+=("$pid")
  # Narrate: the lines that tell the story, prefixed with the worker (tail ends with the trainer).
  local story='msg="?(attestation|challenge|challenged|cannot prove|validation|CHEATING|training done|interrupted|attester stopped|joined a stage)'
  [ "$w" = p2 ] && story="$story|msg=progress" # the last stage's progress line carries the loss
  # (a progress line is shown only when the step moved).
  tail --pid="$pid" -n +1 -F "$DIR/$w/trainer.log" 2>/dev/null | grep --line-buffered -E "$story" | narrate "$w" &
}

# narrate W prefixes each line with the worker and drops the time stamp; a progress line that
# repeats the previous step is skipped.
narrate() {
  local w=$1 last="" line s
  while IFS= read -r line; do
    if [[ $line == *msg=progress* ]]; then
      s=${line#* step=}
      s=${s%% *}
      [ "$s" = "$last" ] && continue
      last=$s
    fi
    printf '  [%s] %s\n' "$w" "${line#time=* level=}"
  done
}
start_trainer p2 --stage 2 --join-stage
for _ in $(seq 1 60); do
  [ "$(q models assignments "$(addr p2)" | jq '.assignments | length')" = 1 ] && break
  sleep 0.5
done
echo "  p2's trainer took stage 2; model 1 is $(q models model 1 | jq -r .model.status)"
send freeloader models join-stage 1 2
start_trainer freeloader --cheat-own-input 1
start_trainer p1
start_trainer cheater --cheat 1
sleep 2
start_trainer p0 --steps "$STEPS"
p0_pid=${pids[-1]}

say "A third party (watcher) watches the freeloader: an input challenge on each attestation it posts (does its input derive from the payload stage 1 signed?)"
# A neighbour holds the payloads it signed, so it is the natural challenger of a later stage's
# input; the first failure voids everything the freeloader has pending.
watch_freeloader() {
  local a att step seen=" "
  a=$(addr freeloader)
  for i in $(seq 1 600); do
    if [ $((i % 10)) = 0 ] && [ "$(q compute worker "$a" | jq -r .worker.status)" = WORKER_STATUS_JAILED ]; then
      return 0
    fi
    # Oldest first: one failure voids everything still pending, so the earliest challenge counts.
    while read -r att step; do
      [ -n "$att" ] || continue
      case "$seen" in *" $att "*) continue ;; esac
      seen="$seen$att "
      if (send watcher verify open-challenge "$att" input "$step" 1 0 "$BOND") >/dev/null 2>&1; then
        echo "  watcher opened an input challenge on the freeloader's attestation $att, step $step"
      fi
    done < <(q verify attestations --worker "$a" --status pending | jq -r '(.attestations // []) | sort_by(.id | tonumber) | .[] | "\(.id) \(.step_from)"')
    sleep 0.5
  done
}
watch_freeloader &
pids+=("$!")

say "A third party challenges the cheater's first attestation (forward tile, bond $BOND)"
cheater=$(addr cheater)
att=""
for _ in $(seq 1 240); do
  att=$(q verify attestations --worker "$cheater" | jq -r '[.attestations[]? | select(.status == "ATTESTATION_STATUS_PENDING")] | last | .id // empty')
  [ -n "$att" ] && break
  sleep 1
done
if [ -n "$att" ]; then
  step=$(q verify attestation "$att" | jq -r .attestation.step_from)
  # In a subshell: if a spot check voided the attestation first, the refusal is reported, not fatal.
  # The bond is the most the challenger posts: a worker's open challenges double it (a spot check
  # may have opened first), so the challenger offers up to four times the base bond.
  if (send challenger verify open-challenge "$att" forward "$step" 0 0 "$((4 * ${BOND%ulearn}))ulearn"); then
    echo "  challenger opened a challenge on attestation $att, step $step"
  fi
else
  echo "  the cheater posted no pending attestation to challenge"
fi

say "Training until stage 0 has done $STEPS steps and its attestations are final"
wait "$p0_pid" || die "stage 0's trainer failed: see $DIR/p0/trainer.log"
for _ in $(seq 1 120); do
  pending=$(q verify attestations --status pending | jq '.attestations | length')
  [ "$pending" = 0 ] && break
  sleep 1
done
say "Every attestation is final; stopping the trainers"
# An interrupted trainer attests what it committed and answers challenges until its attestations
# are final (a second interrupt would leave at once, and an unanswered challenge is slashed).
cleanup_trainers() {
  local p alive
  for p in "${trainers[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for _ in $(seq 1 240); do
    alive=0
    for p in "${trainers[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && return 0
    sleep 0.5
  done
  echo "  some trainers still wait for verdicts after 2 minutes; stopping them"
}
cleanup_trainers
sleep 1 # the narration's last lines

say "Verdicts"
q verify challenges | jq -r '.challenges[]? | "  challenge \(.id): \(.kind | sub("CHALLENGE_KIND_"; "")) tile of attestation \(.attestation_id), step \(.step) -> \(.status | sub("CHALLENGE_STATUS_"; ""))\(if (.challenger // "") != "" then " (third party)" else " (spot check)" end)\(if (.slashed.amount // "0") != "0" then ", slashed \(.slashed.amount)\(.slashed.denom)" else "" end)"'
for w in p0 p1 cheater p2 freeloader; do
  a=$(addr "$w")
  q verify attestations --worker "$a" | jq -r --arg w "$w" '
    [.attestations[]?.status] as $s
    | "  \($w): \($s | map(select(. == "ATTESTATION_STATUS_FINALIZED")) | length) attestations finalized, \($s | map(select(. == "ATTESTATION_STATUS_VOID")) | length) void"'
done
for w in cheater freeloader; do
  a=$(addr "$w")
  q compute worker "$a" | jq -r --arg w "$w" '.worker | "  \($w): \(.status | sub("WORKER_STATUS_"; "")), bonded \(.bonded.amount)ulearn, slashed \(.slashed.amount)ulearn"'
  echo "  $w: seats in model 1: $(q models assignments "$a" | jq '.assignments | length'), shares $(q bank balance "$a" share/1 | jq -r .balance.amount)"
done
# The honest providers lose nothing: every attestation of theirs finalized, nothing slashed.
for w in p0 p1 p2; do
  a=$(addr "$w")
  void=$(q verify attestations --worker "$a" | jq '[.attestations[]? | select(.status == "ATTESTATION_STATUS_VOID")] | length')
  slashed=$(q compute worker "$a" | jq -r '.worker.slashed.amount // "0"')
  if [ "$void" != 0 ] || [ "$slashed" != 0 ]; then
    q verify attestations --worker "$a" | jq -r '.attestations[]? | select(.status == "ATTESTATION_STATUS_VOID") | "  \(.id): \(.void_reason)"' | head -3
    die "honest provider $w lost work: $void attestations void, slashed ${slashed}ulearn (see $DIR/$w/trainer.log)"
  fi
done
echo "  p0, p1, p2 (honest): no attestation void, nothing slashed"

say "Checkpoints: each replica commits the root of its stage's weights every attestation period"
q models checkpoints 1 | jq -r '.stages[] | "  stage \(.stage // 0): step \(.latest_step // "0"), root \(.weights_root // "" | .[0:16])…, \(.agreeing_replicas // 0) of \(.total_replicas // 0) replicas agree (\(.committed_replicas // 0) committed)"'

say "A customer pays 100 LEARN of inference revenue to model 1; p0 claims its part"
send customer shares pay-revenue 1 100000000ulearn inference-batch-1
before=$(q bank balance "$(addr p0)" ulearn | jq -r .balance.amount)
send p0 shares claim-revenue 1
after=$(q bank balance "$(addr p0)" ulearn | jq -r .balance.amount)
echo "  p0 claimed $((after - before))ulearn (less its tx fee, which is zero here)"

say "Paid inference: the designer prices model 1; p0, p1, p2 serve their stages from their checkpoints; a customer deposits and asks a gateway"
send designer inference set-price 1 2000ulearn # per 1,000 tokens
GATEWAY=$((PORT + 15))
for w in p0 p1 p2; do
  s=${stage_of[$w]}
  # The worker's registered identity and address: gateways find it in the chain's stage roster.
  "$TRAINER" serve --chain-grpc "127.0.0.1:$GRPC" --chain-id "$CHAIN_ID" --model 1 --stage "$s" --key "$DIR/$w/peer.key" \
    --checkpoint "$DIR/$w/stage-$s.ckpt" --listen "/ip4/127.0.0.1/tcp/${port_of[$w]}" >"$DIR/$w/serve.log" 2>&1 &
  pids+=("$!")
done
mkdir -p "$DIR/gateway"
read -r spender gw_account < <("$TRAINER" spender-key --spender-key "$DIR/gateway/spender.key")
send customer bank send customer "$gw_account" 1ulearn # the gateway's account pays its settlement fees
send customer inference deposit 1 5000000ulearn --spender "$spender" --blocks 2000
deposit=$(q inference deposits "$(addr customer)" | jq -r '.deposits[-1].id')
echo "  customer deposited 5 LEARN (deposit $deposit) for the gateway's key $spender"
claimable() { q shares ownership "$(addr "$1")" | jq -r '[.ownerships[]? | select(.model_id == "1") | .claimable.amount] | first // "0"'; }
outstanding() { q shares revenue 1 | jq -r '.outstanding.amount'; }
p0_before=$(claimable p0)
out_before=$(outstanding)
"$TRAINER" gateway --chain-grpc "127.0.0.1:$GRPC" --chain-id "$CHAIN_ID" --spender-key "$DIR/gateway/spender.key" \
  --deposit "$deposit" --listen "127.0.0.1:$GATEWAY" --settle-every 2s >"$DIR/gateway/gateway.log" 2>&1 &
pids+=("$!")
for _ in $(seq 1 60); do
  curl -sf "http://127.0.0.1:$GATEWAY/v1/models" >/dev/null && break
  sleep 0.5
done
echo "  \$ curl -s localhost:$GATEWAY/v1/models"
curl -sf "http://127.0.0.1:$GATEWAY/v1/models" | jq -c '.data[] | {id, name, status, context_length, price_per_1k_tokens}' | sed 's/^/    /'
req='{"model": "1", "prompt": "func main() {", "max_tokens": 18, "temperature": 0.7, "seed": 1}'
echo "  \$ curl -s localhost:$GATEWAY/v1/completions -d '$req'"
answer=$(curl -s "http://127.0.0.1:$GATEWAY/v1/completions" -d "$req")
jq -e '.choices[0].text' <<<"$answer" >/dev/null || die "the gateway did not complete: $answer (see $DIR/gateway/gateway.log)"
jq -r '"    text: \(.choices[0].text | @json)\n    usage: \(.usage.total_tokens) tokens, charged \(.protolearn.charged) to deposit \(.protolearn.deposit_id), served by \(.protolearn.servers | length) workers"' <<<"$answer"
echo "  \$ curl -sN ... \"stream\": true (server-sent events)"
curl -sN "http://127.0.0.1:$GATEWAY/v1/completions" -d '{"model": "1", "prompt": "package ", "max_tokens": 12, "stream": true}' |
  grep '^data: {' | jq -rR 'ltrimstr("data: ") | fromjson | .choices[0].text' | tr -d '\n' | jq -Rr '"    streamed: \(. | @json)"'
for _ in $(seq 1 60); do
  [ "$(q inference usage 1 | jq -r '.usage.requests // "0"')" -ge 2 ] && break
  sleep 1
done
q inference usage 1 | jq -r '.usage | "  settled on chain: \(.requests) requests, \(.tokens) tokens, paid \(.paid.amount)\(.paid.denom): \(.serving.amount) to the serving workers, \(.revenue.amount) to the holders (x/shares)"'
echo "  model 1's outstanding revenue: $out_before -> $(outstanding) ulearn; p0's claimable: $p0_before -> $(claimable p0) ulearn"
[ "$(claimable p0)" -gt "$p0_before" ] || die "p0's claimable revenue did not rise with inference"

say "The holders govern model 1: they vote its price up to 3000ulearn per 1,000 tokens, and the gateway charges it"
send p0 modelgov propose price 1 3000ulearn --summary "the model is worth more than its designer asks"
prop=$(q modelgov proposals --model-id 1 | jq -r '.proposals[0].id')
for a in p0 p1 p2; do send "$a" modelgov vote "$prop" yes; done
echo "  proposal $prop: p0, p1 and p2 vote yes, each with its share/1 when the proposal opened"
for _ in $(seq 1 120); do
  [ "$(q modelgov proposal "$prop" | jq -r .proposal.status)" != PROPOSAL_STATUS_VOTING ] && break
  sleep 1
done
q modelgov proposal "$prop" | jq -r '.proposal | "  \(.status): \(.result)"'
[ "$(q modelgov proposal "$prop" | jq -r .proposal.status)" = PROPOSAL_STATUS_PASSED ] || die "the holders' price vote did not pass"
q inference price 1 | jq -r '.price | "  model 1 now costs \(.per_1k_tokens.amount)\(.per_1k_tokens.denom) per 1,000 tokens (set by its holders: \(.by_holders))"'
if pld tx inference set-price 1 1ulearn --from designer --keyring-backend test --chain-id "$CHAIN_ID" --node "tcp://127.0.0.1:$RPC" \
  --gas 200000 -y --output json 2>/dev/null | jq -e '.code == 0' >/dev/null; then
  sleep 3
  [ "$(q inference price 1 | jq -r .price.per_1k_tokens.amount)" = 3000 ] || die "the designer overrode the holders' price"
fi
echo "  the designer can no longer change it (tx inference set-price is refused: ErrPriceByHolders)"
# A deposit keeps the price it was made at: the customer's next deposit pays the holders' price.
send customer inference deposit 1 5000000ulearn --spender "$spender" --blocks 2000
deposit2=$(q inference deposits "$(addr customer)" | jq -r '.deposits[-1].id')
echo '{"customer-key": '"$deposit2"'}' >"$DIR/gateway/api-keys.json"
kill -INT "${pids[-1]}" 2>/dev/null || true # the first gateway settles what it served and leaves
wait "${pids[-1]}" 2>/dev/null || true
"$TRAINER" gateway --chain-grpc "127.0.0.1:$GRPC" --chain-id "$CHAIN_ID" --spender-key "$DIR/gateway/spender.key" \
  --api-keys "$DIR/gateway/api-keys.json" --listen "127.0.0.1:$GATEWAY" --settle-every 2s >"$DIR/gateway/gateway2.log" 2>&1 &
pids+=("$!")
for _ in $(seq 1 60); do
  curl -sf "http://127.0.0.1:$GATEWAY/v1/models" >/dev/null && break
  sleep 0.5
done
curl -sf "http://127.0.0.1:$GATEWAY/v1/models" | jq -c '.data[] | {id, price_per_1k_tokens}' | sed 's/^/    /'
answer=$(curl -s "http://127.0.0.1:$GATEWAY/v1/completions" -H "Authorization: Bearer customer-key" -d "$req")
jq -e '.choices[0].text' <<<"$answer" >/dev/null || die "the gateway did not complete at the new price: $answer (see $DIR/gateway/gateway2.log)"
jq -r '"    \(.usage.total_tokens) tokens, charged \(.protolearn.charged) to deposit \(.protolearn.deposit_id), at the price its holders voted"' <<<"$answer"
tokens=$(jq -r '.usage.total_tokens' <<<"$answer")
charged=$(jq -r '.protolearn.charged' <<<"$answer")
[ "${charged%ulearn}" = $(((tokens * 3000 + 999) / 1000)) ] || [ "${charged%ulearn}" = $((tokens * 3000 / 1000)) ] ||
  die "charged $charged for $tokens tokens; the holders' price is 3000ulearn per 1,000"

say "Ownership of model 1"
declare -A name_of
for a in "${accounts[@]}"; do name_of[$(addr "$a")]=$a; done
names=$(for a in "${!name_of[@]}"; do printf '%s=%s\n' "$a" "${name_of[$a]}"; done | jq -Rn '[inputs | split("=") | {(.[0]): .[1]}] | add')
supply=$(q bank total-supply-of share/1 | jq -r .amount.amount)
q shares holders 1 | jq -r --argjson names "$names" --arg supply "$supply" '
  "  holder      shares (share/1)     fraction",
  (.holders[] | "  \(($names[.address] // .address) | .[0:10] | . + " " * (10 - length))  \(.balance.amount | . + " " * (20 - length)) \((.balance.amount | tonumber) / ($supply | tonumber) * 100 | . * 100 | round / 100)%")'
echo "  supply: $supply share/1 (1 share = 10^6 base units per work unit; the designer earns 10% on top)"

losses=$DIR/p2/losses.csv
if [ -s "$losses" ]; then
  if [ -x build/lossplot ]; then
    build/lossplot -out "$DIR/loss.png" -y loss demo="$losses" >/dev/null 2>&1 || true
  else
    go run ./trainer/cmd/lossplot -out "$DIR/loss.png" -y loss demo="$losses" >/dev/null 2>&1 || true
  fi
  say "Loss curve: $losses (plot: $DIR/loss.png); logs and state in $DIR"
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "loss") c = i; next }
    { v[NR - 1] = $c; n = NR - 1 }
    END { k = (n < 20 ? n : 20); for (i = 1; i <= k; i++) { a += v[i]; b += v[n - k + i] }
          printf "  training loss (mean of %d microbatches): %.3f at the start, %.3f at the end (%d microbatches)\n", k, a / k, b / k, n }' "$losses"
fi
say "Done"
