#!/usr/bin/env bash
# make bench-swarm: the libp2p swarm's benchmarks (`trainer run`, one process per worker, scripts/swarm.sh),
# with the issue's targets met or missed, as a markdown entry added to docs/BENCHMARKS.md.
#
#   1. 4 stages over emulated 80 Mbit/s, 50 ms links (every worker's outgoing streams shaped, on
#      loopback): tokens/s and time to a fixed training loss, compressed (the spec's k) against
#      uncompressed (--compression-rank 0), and the compressed swarm against `trainer local`
#      (the in-process async pipeline over the same emulated links).
#   2. Bytes on the wire per token per boundary, counted where the worker writes its libp2p
#      streams (frames, their payloads, and the acks it answers with), against the engine's payload.
#   3. Recovery after a replica is killed: 4 stages × 2 replicas, stage 1 replica 0 killed with
#      SIGKILL; the longest pause between two microbatches finishing at the last stage after the
#      kill, against the median pause before it.
#
# Tokens/s: the last stage's losses.csv, microbatches 9..N (after the pipeline has filled):
# (N − 8)·rows·seq_len ÷ their time span. Time to loss: from stage 0's start to the first
# validation round (eval.csv: every BENCH_SWARM_EVAL_EVERY steps, BENCH_SWARM_EVAL_BATCHES
# microbatches of the validation split, forward only) at or below TARGET (the higher of the
# compressed and uncompressed final validation losses + 0.02: a loss both reach).
#
# Environment: BENCH_SWARM_SPEC (small), BENCH_SWARM_STEPS (25), BENCH_SWARM_ROWS (4),
# BENCH_SWARM_MICROBATCHES (4), BENCH_SWARM_BANDWIDTH (80Mbit), BENCH_SWARM_LATENCY (50ms),
# BENCH_SWARM_KILL_AFTER (15, seconds), BENCH_NO_DOCS=1 (print only).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

SPEC=${BENCH_SWARM_SPEC:-small}
STEPS=${BENCH_SWARM_STEPS:-25}
ROWS=${BENCH_SWARM_ROWS:-4}
MICRO=${BENCH_SWARM_MICROBATCHES:-4}
BW=${BENCH_SWARM_BANDWIDTH:-80Mbit}
LAT=${BENCH_SWARM_LATENCY:-50ms}
KILL=${BENCH_SWARM_KILL_AFTER:-15}
EVAL_EVERY=${BENCH_SWARM_EVAL_EVERY:-3}
EVAL_BATCHES=${BENCH_SWARM_EVAL_BATCHES:-2}

make --no-print-directory build >/dev/null
root=$(mktemp -d "$PWD/build/bench-swarm.XXXXXX")
trap 'rm -rf "$root"' EXIT
t_start=$(date +%s)

case "$SPEC" in tiny) seq_len=32 ;; small) seq_len=64 ;; *) seq_len=${BENCH_SWARM_SEQ_LEN:?set BENCH_SWARM_SEQ_LEN for spec $SPEC} ;; esac
tokens_mb=$((ROWS * seq_len))

swarm() { # swarm NAME STAGES REPLICAS KILL_AFTER EXTRA
  log "swarm run $1"
  DIR="$root/$1" EVAL_EVERY=$EVAL_EVERY STAGES=$2 REPLICAS=$3 KILL_AFTER=$4 EXTRA=$5 SPEC=$SPEC STEPS=$STEPS ROWS=$ROWS \
    MICROBATCHES=$MICRO BANDWIDTH=${6:-$BW} LATENCY=${7:-$LAT} scripts/swarm.sh 2>"$root/$1.out" || { cat "$root/$1.out" >&2; die "swarm run $1 failed"; }
}

# chrono NAME: the last stage's loss rows (loss, unix_s) in time order, all replicas merged.
chrono() { cat "$root/$1"/out/s3-r*/losses.csv | grep -v '^microbatch' | sort -t, -k5,5n; }

# tps NAME: steady tokens/s from the last stage's losses.
tps() { chrono "$1" | awk -F, -v t="$tokens_mb" 'NR == 8 { a = $5 } { b = $5; n = NR } END { if (n > 8 && b > a) printf "%.1f", (n - 8) * t / (b - a); else print "n/a" }'; }

# final_loss NAME: the mean of the last 8 microbatch losses.
final_loss() { chrono "$1" | awk -F, '{ l[NR] = $3 } END { for (i = NR - 7; i <= NR; i++) s += l[i]; printf "%.4f", s / 8 }'; }

# val NAME: the last stage's validation rounds (step, val_loss, unix_s) in step order.
val() { cat "$root/$1"/out/s3-r*/eval.csv | grep -v '^round' | sort -t, -k2,2n | awk -F, '{ print $2 "," $3 "," $5 }'; }

# final_val NAME: the last round's validation loss.
final_val() { val "$1" | tail -n 1 | cut -d, -f2; }

# time_to NAME TARGET: seconds from stage 0's start to the first validation round at or below TARGET.
time_to() {
  local start
  start=$(grep -h 'msg=worker' "$root/$1"/logs/s0-r0.log | head -n 1 | sed -n 's/^time=\([^ ]*\).*/\1/p')
  val "$1" | awk -F, -v target="$2" -v start="$(date -d "$start" +%s.%N)" '
    $2 <= target { printf "%.1f", $3 - start; found = 1; exit }
    END { if (!found) print "not reached" }'
}

# bytes NAME FIELD: the sum of FIELD over every worker's "stopped" log line.
bytes() { grep -h 'msg=stopped' "$root/$1"/logs/*.log | sed -n "s/.* $2=\([0-9]*\).*/\1/p" | awk '{ s += $1 } END { print s + 0 }'; }

swarm comp 4 1 "" "--eval-batches $EVAL_BATCHES"
swarm raw 4 1 "" "--compression-rank 0 --eval-batches $EVAL_BATCHES"
swarm free 4 1 "" "--eval-batches $EVAL_BATCHES" 0 0
kill_at=$(( $(date +%s) + KILL ))
swarm churn 4 2 "$KILL" "--eval-batches $EVAL_BATCHES"

log "in-process run (trainer local, async depth 2, same links)"
build/trainer local --spec "$SPEC" --schedule async --optimizer nadam --async-depth 2 --batch $((ROWS * MICRO)) \
  --microbatches "$MICRO" --steps "$STEPS" --link-bandwidth "$BW" --link-latency "$LAT" --eval-every 0 --quiet \
  --out "$root/local" 2>"$root/local.out"
tps_local=$(awk -F, -v t=$((ROWS * MICRO * seq_len)) 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "elapsed_s") k = i; next }
  NR == 3 { a = $k } { b = $k; n = NR - 1 } END { printf "%.1f", (n - 2) * t / (b - a) }' "$root/local/loss.csv")

tps_comp=$(tps comp) tps_raw=$(tps raw) tps_free=$(tps free)
loss_comp=$(final_val comp) loss_raw=$(final_val raw)
target=$(awk -v a="$loss_comp" -v b="$loss_raw" 'BEGIN { m = a > b ? a : b; printf "%.3f", m + 0.02 }')
ttl_comp=$(time_to comp "$target") ttl_raw=$(time_to raw "$target")

frame=$(bytes comp frame_bytes) payload=$(bytes comp payload_bytes) control=$(bytes comp control_bytes)
frame_raw=$(bytes raw frame_bytes) payload_raw=$(bytes raw payload_bytes) control_raw=$(bytes raw control_bytes)
mbs=$((STEPS * MICRO))
per_tok() { awk -v b="$1" -v n="$mbs" -v t="$tokens_mb" 'BEGIN { printf "%.2f", b / (n * t * 6) }'; } # 3 boundaries × 2 directions
overhead() { awk -v f="$1" -v p="$2" -v c="$3" 'BEGIN { printf "%.2f", 100 * (f - p + c) / p }'; }

# Recovery: pauses between consecutive last-stage microbatches (both replicas merged).
gap_before=$(chrono churn | awk -F, -v k="$kill_at" 'NR > 1 && $5 < k { printf "%.3f\n", $5 - p } { p = $5 }' |
  sort -n | awk '{ g[NR] = $1 } END { print (NR ? g[int((NR + 1) / 2)] : "n/a") }')
gap_after=$(chrono churn | awk -F, -v k="$kill_at" 'NR > 1 && $5 >= k && $5 < k + 60 && $5 - p > ga { ga = $5 - p } { p = $5 } END { printf "%.3f", ga }')
churn_n=$(chrono churn | cut -d, -f1 | sort -un | wc -l)
churn_dup=$(( $(chrono churn | wc -l) - churn_n ))

calc() { awk "BEGIN { printf \"$1\", $2 }"; }
ratio_ttl=n/a
if [ "$ttl_comp" != "not reached" ] && [ "$ttl_raw" != "not reached" ]; then ratio_ttl=$(calc %.2f "$ttl_raw / $ttl_comp"); fi
ratio_local=$(calc %.1f "100 * $tps_comp / $tps_local")
met() { awk -v v="$1" -v g="$2" 'BEGIN { if (v == "n/a") print "n/a"; else if (v + 0 >= g + 0) print "met"; else print "missed" }'; }
met_le() { awk -v v="$1" -v g="$2" 'BEGIN { if (v + 0 <= g + 0) print "met"; else print "missed" }'; }
ov_comp=$(overhead "$frame" "$payload" "$control") ov_raw=$(overhead "$frame_raw" "$payload_raw" "$control_raw")

entry="$root/entry.md"
{
  echo "### $(date -u +%Y-%m-%d), $(git describe --always --dirty): swarm (\`trainer run\`, one process per worker, CPU)"
  echo
  echo "Machine: $(bench_machine). $(go version | awk '{print $3}'), GOEXPERIMENT=simd. Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "\`scripts/swarm.sh\`: spec $SPEC, 4 stages, $ROWS × $seq_len tokens per microbatch, $MICRO microbatches per step, $STEPS steps"
  echo "($mbs microbatches per stage-0 worker), NAdam lr 3e-3, depth 8, every worker's outgoing streams shaped to $BW / $LAT"
  echo "(trainer/link on the real libp2p streams, TCP on 127.0.0.1). All workers share the machine's cores: on 2 cores"
  echo "4–8 GoMLX processes contend, so compute, not the link, is the bottleneck here. The runs took $(( $(date +%s) - t_start )) s."
  echo
  echo "| run | tokens/s (microbatches 9..N) | final train loss (mean of last 8) | final val loss | time to val loss ≤ $target |"
  echo "| --- | --- | --- | --- | --- |"
  echo "| swarm, compressed (spec's k), $BW / $LAT | $tps_comp | $(final_loss comp) | $loss_comp | $ttl_comp s |"
  echo "| swarm, uncompressed, $BW / $LAT | $tps_raw | $(final_loss raw) | $loss_raw | $ttl_raw s |"
  echo "| swarm, compressed, unshaped loopback | $tps_free | $(final_loss free) | $(final_val free) | $(time_to free "$target") s |"
  echo "| in-process \`trainer local\`, async depth 2, compressed, $BW / $LAT | $tps_local | | | |"
  echo
  echo "Bytes written on the pipeline streams, all workers, per training token per boundary per direction (3 boundaries × 2 directions; the validation rounds' activations are included):"
  echo
  echo "| boundaries | payload B/token | frames B/token | + acks B/token | protocol overhead (headers + acks) ÷ payload |"
  echo "| --- | --- | --- | --- | --- |"
  echo "| compressed | $(per_tok "$payload") | $(per_tok "$frame") | $(per_tok "$((frame + control))") | $ov_comp % |"
  echo "| uncompressed | $(per_tok "$payload_raw") | $(per_tok "$frame_raw") | $(per_tok "$((frame_raw + control_raw))") | $ov_raw % |"
  echo
  echo "Below the streams, yamux (12 B per data frame) and Noise (16 B tag per ≤ 64 KiB message) add framing the worker does not see."
  echo
  echo "Recovery: 4 stages × 2 replicas, stage 1 replica 0 killed (SIGKILL) ${KILL} s after the start; $churn_n of the $((2 * mbs)) microbatches finished at the last stage,"
  echo "$churn_dup of them reported by both last-stage replicas (a loss is reported where the microbatch is applied, so this counts double applications)."
  echo "Median pause between microbatches finishing at the last stage before the kill: $gap_before s; longest pause in the 60 s after it: $gap_after s."
  echo
  echo "| target | goal | measured | |"
  echo "| --- | --- | --- | --- |"
  echo "| compressed reaches the validation loss sooner than uncompressed | ≥ 10× | $ratio_ttl× ($ttl_comp s vs $ttl_raw s) | $(met "$ratio_ttl" 10) |"
  echo "| swarm tokens/s ÷ in-process tokens/s, compressed, same links | ≥ 80 % | $ratio_local % | $(met "$ratio_local" 80) |"
  echo "| protocol overhead at the streams, compressed | ≤ 5 % | $ov_comp % | $(met_le "$ov_comp" 5) |"
  echo "| churn: no microbatch lost | all $((2 * mbs)) finish | $churn_n | $( [ "$churn_n" = $((2 * mbs)) ] && echo met || echo missed) |"
  echo "| churn: none applied twice | 0 | $churn_dup | $( [ "$churn_dup" = 0 ] && echo met || echo missed) |"
  echo
  echo "Reading the targets: the 10× target assumes a link-bound pipeline (GPU stages, d/k ≈ 100: the"
  echo "gpu-2048 payload is 101× smaller compressed). Here a microbatch's compute on a contended CPU core"
  echo "(~100 ms per stage) is longer than even the raw payload's wire time at 80 Mbit/s (2 × 64 KiB ≈ 13 ms"
  echo "+ 50 ms), so raw boundaries cost little or no throughput here, and the time-to-loss gap is mostly the"
  echo "raw model's slower early loss curve, not the link. After a kill, re-sent microbatches carry the"
  echo "replay flag, and a replica that has not taken one asks its stage's other replicas before it"
  echo "applies it (trainer/swarm, \"Exactly once\")."
  echo
} >"$entry"
cat "$entry"
[ "${BENCH_NO_DOCS:-}" = 1 ] || bench_add_entry "$entry"
