#!/usr/bin/env bash
# make bench-circuits: the spot-check tile circuits (circuits/tile) over K ∈ {256, 1024, 4096} ×
# T ∈ {4, 16}, forward, 256 rows, and the commitment throughput of a 4096×4096 tensor. Prints
# markdown tables, with the issue's targets met or missed, and adds them to docs/BENCHMARKS.md.
#
# Each shape runs in two processes of its own, so each peak RSS belongs to one step of one shape:
#   1. build/tilekeys -force: compile and single-party setup (timed), keys written to a temporary
#      directory under build/ (removed after the shape);
#   2. build/tilebench -keys: commit random X, W, Y, load the keys, prove (median of
#      BENCH_PROVE_RUNS), verify on one core (GOMAXPROCS=1, BENCH_VERIFY_RUNS runs each way).
#      Its peak RSS is the prover's, without setup's.
#
# Environment:
#   BENCH_CIRCUIT_SHAPES ("256:4 256:16 1024:4 1024:16 4096:4 4096:16"): the K:T pairs to run;
#   BENCH_CIRCUIT_ROWS (256); BENCH_PROVE_RUNS (3; shapes with K ≥ 4096 or T ≥ 16 prove once);
#   BENCH_VERIFY_RUNS (200); BENCH_SKIP_COMMIT=1 (no 4096×4096 commitment benchmark);
#   BENCH_NO_DOCS=1 (do not touch docs/BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

SHAPES=${BENCH_CIRCUIT_SHAPES:-"256:4 256:16 1024:4 1024:16 4096:4 4096:16"}
ROWS=${BENCH_CIRCUIT_ROWS:-256}
PROVE_RUNS=${BENCH_PROVE_RUNS:-3}
VERIFY_RUNS=${BENCH_VERIFY_RUNS:-200}
command -v jq >/dev/null 2>&1 || die "jq is required (Debian/Ubuntu: sudo apt-get install -y jq)"

mkdir -p build
log "go build build/tilebench build/tilekeys"
go build -o build/tilebench ./circuits/cmd/tilebench
go build -o build/tilekeys ./circuits/cmd/tilekeys

keys=$(mktemp -d "$PWD/build/bench-keys.XXXXXX")
results=$(mktemp)
commits=$(mktemp)
trap 'rm -rf "$keys" "$results" "$commits"' EXIT
bench_start=$(date +%s)

for spec in $SHAPES; do
  [[ "$spec" =~ ^[0-9]+:[0-9]+$ ]] || die "BENCH_CIRCUIT_SHAPES: '$spec' is not K:T"
  k=${spec%%:*} t=${spec##*:}
  args=(-kind forward -rows "$ROWS" -inner "$k" -t "$t")
  name=$(build/tilebench "${args[@]}" -name) || die "shape K=$k T=$t is not a tile shape"
  runs=$PROVE_RUNS
  if [ "$k" -ge 4096 ] || [ "$t" -ge 16 ]; then runs=1; fi
  log "$name: compile and setup (tilekeys, own process)"
  setup=$(build/tilekeys -dir "$keys" -shapes "$name" -force -json)
  log "$name: prove ×$runs and verify ×$VERIFY_RUNS on one core (tilebench -keys, own process)"
  bench=$(build/tilebench "${args[@]}" -keys "$keys" -prove-runs "$runs" -verify-runs "$VERIFY_RUNS" -json)
  jq -c -n --argjson s "$setup" --argjson b "$bench" \
    '$b + {setup_s: $s.setup_s, setup_compile_s: $s.compile_s, setup_peak_rss_kib: $s.peak_rss_kib}' >>"$results"
  rm -rf "${keys:?}/$name"
done

if [ "${BENCH_SKIP_COMMIT:-0}" != 1 ]; then
  log "commitment of a 4096×4096 tensor (BenchmarkCommit4096x4096, one run per layout)"
  go test -count=1 ./circuits/commit -run '^$' -bench 'Commit4096x4096' -benchtime 1x | tee /dev/stderr |
    awk '/^BenchmarkCommit4096x4096\// {
      n = split($1, p, "/"); layout = p[n]; sub(/-[0-9]+$/, "", layout)
      ns = ""; v = ""
      for (i = 2; i <= NF; i++) { if ($i == "ns/op") ns = $(i - 1); if ($i == "values/s/core") v = $(i - 1) }
      name["rows"] = "X (Rows)"; name["columns"] = "W (Columns)"; name["row-chunks"] = "Y (RowChunks, L=4)"
      printf "| %s | %.2f s | %.2f M |\n", (layout in name) ? name[layout] : layout, ns / 1e9, v / 1e6
    }' >"$commits"
  [ -s "$commits" ] || die "no BenchmarkCommit4096x4096 results parsed"
fi
elapsed=$(($(date +%s) - bench_start))

###############################################################################
# Report
###############################################################################
machine=$(bench_machine)
commit=$(git describe --tags --always --dirty 2>/dev/null || echo "no commit")
today=$(date -u +%Y-%m-%d)
load=$(cut -d' ' -f1-3 /proc/loadavg)

# One row per shape. Sizes in MiB / GiB of 2^20 / 2^30 bytes; RSS from ru_maxrss (KiB).
shapes_table=$(
  echo "| K | T | constraints | compile | setup | prove | verify, parsed vk (median / p90) | verify from bytes (median / p90) | proof | vk | pk (raw) | peak RSS setup | peak RSS prover |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  jq -r '"| \(.inner) | \(.t) | \(.constraints) | \(.compile_s * 100 | round / 100) s | \(.setup_s * 10 | round / 10) s | \(.prove_s * 1000 | round / 1000) s (\(if .prove_runs == 1 then "1 run" else "median of \(.prove_runs)" end)) | \(.verify_parsed_median_ms * 100 | round / 100) / \(.verify_parsed_p90_ms * 100 | round / 100) ms | \(.verify_bytes_median_ms * 100 | round / 100) / \(.verify_bytes_p90_ms * 100 | round / 100) ms | \(.proof_bytes) B | \(.vk_bytes) B | \(.pk_raw_bytes / 1048576 * 10 | round / 10) MiB | \(.setup_peak_rss_kib / 1024 | round) MiB | \(.rss_after_prove_kib / 1024 | round) MiB |"' "$results"
)

# The issue's targets: each with the measured value and met / missed, or "not measured" when the
# grid left its shape out.
target() { # DESCRIPTION TARGET MEASURED MET(true/false/"")
  local verdict=missed
  [ "$4" = true ] && verdict=met
  [ -z "$4" ] && verdict="not measured"
  echo "| $1 | $2 | $3 | $verdict |"
}
q() { jq -rs "$1" "$results"; }
vmax=$(q 'if length == 0 then "" else (map(.verify_parsed_median_ms) | max) end')
vp90=$(q 'if length == 0 then "" else (map(.verify_parsed_p90_ms) | max) end')
c4096=$(q 'map(select(.inner == 4096 and .t == 16)) | if length == 0 then "" else .[0].constraints end')
p1024=$(q 'map(select(.inner == 1024 and .t == 4)) | if length == 0 then "" else .[0].prove_s end')
r4096=$(q 'map(select(.inner == 4096 and .t == 16)) | if length == 0 then "" else .[0].rss_after_prove_kib end')
cmp() { [ -z "$1" ] && return 0; awk -v a="$1" -v b="$2" 'BEGIN { print (a <= b) ? "true" : "false" }'; }
targets_table=$(
  echo "| target | goal | measured | |"
  echo "| --- | --- | --- | --- |"
  target "verify, parsed key, one core (worst shape's median)" "≤ 3 ms" \
    "${vmax:+$(printf '%.2f ms (worst p90 %.2f ms)' "$vmax" "$vp90")}" "$(cmp "$vmax" 3)"
  target "constraints, K=4096, T=16" "≤ 920,000 (0.5 × 1.84 M)" "$c4096" "$(cmp "$c4096" 920000)"
  target "prove, K=1024, T=4" "≤ 2.5 s" "${p1024:+$(printf '%.2f s' "$p1024")}" "$(cmp "$p1024" 2.5)"
  target "peak RSS of the prover, K=4096, T=16" "≤ 4 GB (4·10⁹ B)" \
    "${r4096:+$(awk -v k="$r4096" 'BEGIN { printf "%.2f GB", k * 1024 / 1e9 }')}" \
    "$( [ -n "$r4096" ] && cmp "$((r4096 * 1024))" 4000000000)"
)

commit_table=""
if [ -s "$commits" ]; then
  commit_table=$(
    echo "| 4096×4096, Poseidon2, $(nproc) cores | wall | values/s/core |"
    echo "| --- | --- | --- |"
    cat "$commits"
  )
fi

entry=$(mktemp)
{
  echo "### $today, $commit: tile circuits"
  echo
  echo "Machine: $machine. Go $(go env GOVERSION | sed 's/^go//'). Load average at the end: $load."
  echo "Forward tiles, $ROWS rows, Poseidon2, B=16, F=8, tolerance DefaultTolULP(K), single-party setup;"
  echo "verify with GOMAXPROCS=1, $VERIFY_RUNS runs each way. Whole run ${elapsed} s."
  echo
  echo "$shapes_table"
  echo
  echo "$targets_table"
  if [ -n "$commit_table" ]; then
    echo
    echo "$commit_table"
  fi
  echo
} >"$entry"
echo
cat "$entry"

if [ "${BENCH_NO_DOCS:-0}" != 1 ]; then
  bench_add_entry "$entry"
fi
rm -f "$entry"
