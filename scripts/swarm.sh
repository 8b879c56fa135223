#!/usr/bin/env bash
# swarm.sh starts a whole swarm of `trainer run` workers on 127.0.0.1, one process per worker:
# STAGES stages × REPLICAS replicas (default 4 × 2 = 8 processes), every worker's outgoing streams
# shaped as an emulated WAN path (BANDWIDTH, LATENCY, JITTER, LOSS). It writes the keys, the roster,
# each worker's log and the last stage's losses.csv under DIR, waits for stage 0 to finish its STEPS,
# stops the other stages (SIGTERM: they drain), and prints the loss at the start and at the end.
# Every process it starts is stopped on exit.
#
#   scripts/swarm.sh                       # 8 workers, small model, 80 Mbit/s, 50 ms
#   KILL_AFTER=20 scripts/swarm.sh         # also kill one stage-1 replica 20 s in (churn)
#   STAGES=3 REPLICAS=1 SPEC=tiny STEPS=30 LATENCY=0 BANDWIDTH=0 scripts/swarm.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

STAGES=${STAGES:-4}
REPLICAS=${REPLICAS:-2}
SPEC=${SPEC:-small}
STEPS=${STEPS:-20}
ROWS=${ROWS:-2}
MICROBATCHES=${MICROBATCHES:-4}
BANDWIDTH=${BANDWIDTH:-80Mbit}
LATENCY=${LATENCY:-50ms}
JITTER=${JITTER:-0}
LOSS=${LOSS:-0}
KILL_AFTER=${KILL_AFTER:-}
TRAINER=${TRAINER:-build/trainer}
DIR=${DIR:-$(mktemp -d /tmp/protolearn-swarm.XXXXXX)}
EXTRA=${EXTRA:-}

[ -x "$TRAINER" ] || die "$TRAINER not found: run make build (or set TRAINER)"
mkdir -p "$DIR/keys" "$DIR/logs"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM


base=$((20000 + RANDOM % 20000))
members=()
declare -A port
for s in $(seq 0 $((STAGES - 1))); do
  for r in $(seq 0 $((REPLICAS - 1))); do
    key="$DIR/keys/s$s-r$r.key"
    id=$("$TRAINER" peer-id --key "$key")
    while port_in_use "$base"; do base=$((base + 1)); done
    port[$s-$r]=$base
    members+=("{\"peer\":\"$id\",\"stage\":$s,\"addrs\":[\"/ip4/127.0.0.1/tcp/$base\"]}")
    base=$((base + 1))
  done
done
(IFS=,; printf '{"model":1,"stages":%d,"members":[%s]}\n' "$STAGES" "${members[*]}") >"$DIR/roster.json"
log "swarm of $STAGES stages × $REPLICAS replicas in $DIR (spec $SPEC, $BANDWIDTH, latency $LATENCY)"

start() { # start STAGE REPLICA
  local s=$1 r=$2
  local out="$DIR/out/s$s-r$r"
  mkdir -p "$out"
  # shellcheck disable=SC2086 # EXTRA is a list of flags
  "$TRAINER" run --spec "$SPEC" --stages "$STAGES" --stage "$s" --key "$DIR/keys/s$s-r$r.key" \
    --roster "$DIR/roster.json" --listen "/ip4/127.0.0.1/tcp/${port[$s-$r]}" --steps "$STEPS" \
    --rows "$ROWS" --microbatches "$MICROBATCHES" --link-bandwidth "$BANDWIDTH" --link-latency "$LATENCY" \
    --link-jitter "$JITTER" --link-loss "$LOSS" --out "$out" --quiet $EXTRA >"$DIR/logs/s$s-r$r.log" 2>&1 &
  pids+=($!)
  eval "pid_s${s}_r${r}=$!"
}

# Downstream stages first, so stage 0 finds them listening.
for s in $(seq $((STAGES - 1)) -1 0); do
  for r in $(seq 0 $((REPLICAS - 1))); do start "$s" "$r"; done
done
stage0=()
for r in $(seq 0 $((REPLICAS - 1))); do v="pid_s0_r$r"; stage0+=("${!v}"); done

if [ -n "$KILL_AFTER" ]; then
  sleep "$KILL_AFTER"
  victim=pid_s1_r0
  log "killing stage 1 replica 0 (pid ${!victim}) with SIGKILL"
  kill -KILL "${!victim}" 2>/dev/null || true
fi

status=0
for p in "${stage0[@]}"; do wait "$p" || status=$?; done
[ "$status" = 0 ] || { tail -n 20 "$DIR"/logs/s0-r*.log >&2; die "stage 0 failed (exit $status): logs in $DIR/logs"; }
log "stage 0 finished; stopping the other stages (they drain)"
for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
wait 2>/dev/null || true
pids=()

last=$((STAGES - 1))
cat "$DIR"/out/s$last-r*/losses.csv 2>/dev/null | grep -v '^microbatch' | sort -t, -k1,1n >"$DIR/losses.csv" || true
n=$(wc -l <"$DIR/losses.csv")
[ "$n" -gt 0 ] || die "no losses recorded: logs in $DIR/logs"
head_loss=$(head -n 8 "$DIR/losses.csv" | awk -F, '{s += $3} END {printf "%.3f", s / NR}')
tail_loss=$(tail -n 8 "$DIR/losses.csv" | awk -F, '{s += $3} END {printf "%.3f", s / NR}')
log "$n microbatch losses (expected $((STEPS * MICROBATCHES * REPLICAS))): first 8 mean $head_loss, last 8 mean $tail_loss"
log "losses: $DIR/losses.csv; logs: $DIR/logs; roster: $DIR/roster.json"
