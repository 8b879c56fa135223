#!/usr/bin/env bash
# Inference: time to first token and tokens/s of generation in process (KV cache or not, one
# session or a batch) and through a swarm of libp2p hosts over emulated 80 Mbit/s, 50 ms paths
# (trainer/infer BenchmarkGenerate), and x/inference's settlement gas for batches of 1, 16 and
# 100 receipts (app TestInferenceSettleGas); appended to docs/BENCHMARKS.md unless BENCH_NO_DOCS=1.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

raw=$(mktemp)
gas=$(mktemp)
entry=$(mktemp)
trap 'rm -f "$raw" "$gas" "$entry"' EXIT
log "generation: in process and through the swarm (a few minutes)"
PROTOLEARN_BENCH=1 GOEXPERIMENT=simd go test -count=1 -run '^$' -bench BenchmarkGenerate -benchtime 1x -timeout 60m ./trainer/infer/ | tee "$raw" >&2
log "settlement gas"
go test -count=1 -run TestInferenceSettleGas -v ./app/ | grep -E 'deposit:|settle:' | sed 's/^[[:space:]]*inference_test.go:[0-9]*: //' | tee "$gas" >&2

machine="$(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
{
  printf '### %s, %s: inference through the swarm\n\n' "$(date -u +%Y-%m-%d)" "$(git describe --tags --always --dirty 2>/dev/null || echo dev)"
  printf 'Machine: %s. Go %s, Go backend (CPU). Prompt 16 tokens, 32 generated, sampled (temperature 1). Every stage runs in the one process, for the swarm (libp2p hosts on 127.0.0.1 whose every stream is shaped as 80 Mbit/s, 50 ms one way) as for the baseline, so the difference is the protocol and the network. tokens/s counts the tokens after the first over the time after the first.\n\n' \
    "$machine" "$(go env GOVERSION | sed 's/^go//')"
  printf '| model | where | KV cache | sessions | time to first token (ms) | tokens/s (all) | tokens/s per session |\n| --- | --- | --- | --- | --- | --- | --- |\n'
  awk '/^BenchmarkGenerate\// {
      split($1, p, "/"); sub(/-[0-9]+$/, "", p[5])
      for (i = 2; i <= NF; i++) { if ($(i+1) == "ttft_ms") t = $i; if ($(i+1) == "tokens/s") a = $i; if ($(i+1) == "tokens/s/session") s = $i }
      printf "| %s | %s | %s | %s | %s | %s | %s |\n", p[2], p[3], p[4], p[5], t, a, s
    }' "$raw"
  printf '\nSettlement (in-process chain, one signed tx each):\n\n'
  sed 's/^/- /' "$gas"
  printf '\n'
} > "$entry"
cat "$entry"
[ -n "${BENCH_NO_DOCS:-}" ] && exit 0
doc=docs/BENCHMARKS.md
marker='<!-- bench-results: scripts/bench-chain.sh adds runs below this line, newest first -->'
grep -qF "$marker" "$doc" || die "$doc lacks the results marker"
awk -v marker="$marker" -v entry="$entry" '
  { print }
  $0 == marker { print ""; while ((getline line < entry) > 0) print line }
' "$doc" > "$doc.tmp" && mv "$doc.tmp" "$doc"
log "added to $doc"
