#!/usr/bin/env bash
# swarm.sh starts a whole swarm of `trainer run` workers on 127.0.0.1, one process per worker:
# STAGES stages × REPLICAS replicas (default 4 × 2 = 8 processes), every worker's outgoing streams
# shaped as an emulated WAN path (BANDWIDTH, LATENCY, JITTER, LOSS). It writes the keys, the roster,
# each worker's log and the last stage's losses.csv under DIR, waits for stage 0 to finish its STEPS,
# stops the other stages (SIGTERM: they drain), and prints the loss at the start and at the end.
# Every process it starts is stopped on exit.
#
#   scripts/swarm.sh                       # 8 workers, small model, 80 Mbit/s, 50 ms
#   KILL_AFTER=20 scripts/swarm.sh         # also kill one stage-1 replica 20 s in (churn); it comes back
#                                          # REJOIN_AFTER (5) s later with --join: state from its replica
#   STAGES=3 REPLICAS=1 SPEC=tiny STEPS=30 LATENCY=0 BANDWIDTH=0 scripts/swarm.sh
#   NETEM=1 scripts/swarm.sh               # as root: each worker in its own network namespace, the WAN
#                                          # path applied by the kernel (tc netem on the worker's veth)
#                                          # instead of by the trainer
#
# NETEM=1 needs root, ip netns, veth, bridges and the sch_netem qdisc; it checks them first and says
# which is missing. Worker i gets namespace plw<i> and address 10.77.0.<i+2>/24 on bridge plbr0.
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
REJOIN_AFTER=${REJOIN_AFTER:-5}
AVERAGE_EVERY=${AVERAGE_EVERY:-16}
EVAL_EVERY=${EVAL_EVERY:-5}
TRAINER=${TRAINER:-build/trainer}
DIR=${DIR:-$(mktemp -d /tmp/protolearn-swarm.XXXXXX)}
EXTRA=${EXTRA:-}

[ -x "$TRAINER" ] || die "$TRAINER not found: run make build (or set TRAINER)"
mkdir -p "$DIR/keys" "$DIR/logs"

NETEM=${NETEM:-}
pids=()
netns=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for n in "${netns[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  [ -z "$NETEM" ] || ip link del plbr0 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# netem_check fails with the reason when this machine cannot run NETEM=1.
netem_check() {
  [ "$(id -u)" = 0 ] || die "NETEM=1 needs root (network namespaces and tc)"
  if ! command -v ip >/dev/null || ! command -v tc >/dev/null; then die "NETEM=1 needs ip and tc (Debian: apt-get install iproute2)"; fi
  ip netns add plprobe 2>/dev/null || die "NETEM=1: cannot create network namespaces here"
  netns+=(plprobe)
  ip link add plprobe0 type veth peer name p0 netns plprobe 2>/dev/null || die "NETEM=1: cannot create veth pairs into a namespace"
  ip netns exec plprobe tc qdisc add dev p0 root netem delay 1ms 2>/dev/null ||
    die "NETEM=1: the kernel has no netem qdisc (sch_netem): run without NETEM to shape in the trainer (--link-*)"
  ip netns del plprobe
}

# netem_worker I LINK_ARGS...: namespace plw<I> joined to bridge plbr0 with address 10.77.0.<I+2>, its
# egress shaped by tc netem.
netem_worker() {
  local i=$1 ns="plw$1"
  shift
  ip netns add "$ns"
  netns+=("$ns")
  ip link add "plv$i" type veth peer name eth0 netns "$ns"
  ip link set "plv$i" master plbr0 up
  ip -n "$ns" addr add "10.77.0.$((i + 2))/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  ip netns exec "$ns" tc qdisc add dev eth0 root netem "$@"
}


if [ -n "$NETEM" ]; then
  netem_check
  ip link add plbr0 type bridge
  ip link set plbr0 up
  netem_args=(delay "${LATENCY%ms}ms")
  [ "$JITTER" = 0 ] || netem_args+=("${JITTER%ms}ms")
  [ "$BANDWIDTH" = 0 ] || netem_args+=(rate "$(echo "$BANDWIDTH" | tr '[:upper:]' '[:lower:]')")
  [ "$LOSS" = 0 ] || netem_args+=(loss "$(awk -v l="$LOSS" 'BEGIN { print l * 100 }')%")
  log "NETEM=1: tc netem ${netem_args[*]} on every worker's egress; the trainer does not shape"
fi

base=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768+), where other programs take ports
members=()
declare -A addr wrap
i=0
for s in $(seq 0 $((STAGES - 1))); do
  for r in $(seq 0 $((REPLICAS - 1))); do
    key="$DIR/keys/s$s-r$r.key"
    id=$("$TRAINER" peer-id --key "$key")
    if [ -n "$NETEM" ]; then
      netem_worker "$i" "${netem_args[@]}"
      addr[$s-$r]="/ip4/10.77.0.$((i + 2))/tcp/4001"
      wrap[$s-$r]="ip netns exec plw$i"
    else
      while port_in_use "$base"; do base=$((base + 1)); done
      addr[$s-$r]="/ip4/127.0.0.1/tcp/$base"
      wrap[$s-$r]=""
      base=$((base + 1))
    fi
    members+=("{\"peer\":\"$id\",\"stage\":$s,\"addrs\":[\"${addr[$s-$r]}\"]}")
    i=$((i + 1))
  done
done
(IFS=,; printf '{"model":1,"stages":%d,"members":[%s]}\n' "$STAGES" "${members[*]}") >"$DIR/roster.json"
log "swarm of $STAGES stages × $REPLICAS replicas in $DIR (spec $SPEC, $BANDWIDTH, latency $LATENCY)"

start() { # start STAGE REPLICA [FLAGS...]
  local s=$1 r=$2
  shift 2
  local out="$DIR/out/s$s-r$r"
  mkdir -p "$out"
  local shape=(--link-bandwidth "$BANDWIDTH" --link-latency "$LATENCY" --link-jitter "$JITTER" --link-loss "$LOSS")
  [ -z "$NETEM" ] || shape=() # the kernel shapes
  # shellcheck disable=SC2086 # EXTRA is a list of flags, wrap a command prefix
  ${wrap[$s-$r]} "$TRAINER" run --spec "$SPEC" --stages "$STAGES" --stage "$s" --key "$DIR/keys/s$s-r$r.key" \
    --roster "$DIR/roster.json" --listen "${addr[$s-$r]}" --steps "$STEPS" \
    --rows "$ROWS" --microbatches "$MICROBATCHES" "${shape[@]}" --average-every "$AVERAGE_EVERY" --eval-every "$EVAL_EVERY" --out "$out" \
    --quiet $EXTRA "$@" >>"$DIR/logs/s$s-r$r.log" 2>&1 &
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
  sleep "$REJOIN_AFTER"
  log "restarting stage 1 replica 0 with --join (its weights from the other replica)"
  mv "$DIR/out/s1-r0" "$DIR/out/s1-r0.killed"
  start 1 0 --join
fi

status=0
for p in "${stage0[@]}"; do wait "$p" || status=$?; done
[ "$status" = 0 ] || { tail -n 20 "$DIR"/logs/s0-r*.log >&2; die "stage 0 failed (exit $status): logs in $DIR/logs"; }
if [ "$EVAL_EVERY" != 0 ]; then sleep 2; fi # the last validation round leaves with stage 0's last microbatches
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
if [ "$EVAL_EVERY" != 0 ]; then
  cat "$DIR"/out/s$last-r*/eval.csv 2>/dev/null | grep -v '^round' | sort -t, -k2,2n >"$DIR/eval.csv" || true
  [ ! -s "$DIR/eval.csv" ] || log "validation loss by step: $(awk -F, '{ printf "%s%s: %.3f", (NR > 1 ? ", " : ""), $2, $3 }' "$DIR/eval.csv")"
fi
log "losses: $DIR/losses.csv; logs: $DIR/logs; roster: $DIR/roster.json"
