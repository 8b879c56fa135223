#!/usr/bin/env bash
# make bench-anchor: the Ethereum anchor's costs, as a markdown entry added to docs/BENCHMARKS.md:
#   - gas of ShareAnchor.submitCheckpoint with 4 and 100 validators, every one signing, and of
#     verifyShares for one of 100,000 holders (x/anchor/bindings TestGas, go-ethereum's simulated
#     chain, the committed bytecode);
#   - the full rebuild of one model's share tree at 1,000 and 100,000 holders
#     (x/anchor/merkle BenchmarkModelTree: leaves, sort, levels; reading balances from the store is
#     not included), and one changed balance in the incremental tree of 100,000 holders
#     (BenchmarkTreapUpdate).
#   - the EndBlock cost of a checkpoint (x/anchor/keeper BenchmarkCheckpoint: re-read the changed
#     holders' balances, update the stored share tree, the models tree, store the checkpoint, and
#     the IAVL commit of what it wrote) in a model of 1,000 and 100,000 holders, 1 and 100 changed.
#
# Environment: BENCH_NO_DOCS=1 prints only.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log "gas (TestGas)"
go test ./x/anchor/bindings -run '^TestGas$' -count=1 -v >"$tmp/gas.txt" 2>&1 || { cat "$tmp/gas.txt" >&2; die "TestGas failed"; }
log "tree rebuild (BenchmarkModelTree)"
go test ./x/anchor/merkle -run '^$' -bench BenchmarkModelTree -benchtime 5x -count=1 >"$tmp/tree.txt" 2>&1 || { cat "$tmp/tree.txt" >&2; die "BenchmarkModelTree failed"; }
log "incremental update (BenchmarkTreapUpdate)"
go test ./x/anchor/merkle -run '^$' -bench BenchmarkTreapUpdate -benchtime 20000x -count=1 >"$tmp/treap.txt" 2>&1 || { cat "$tmp/treap.txt" >&2; die "BenchmarkTreapUpdate failed"; }

log "checkpoint EndBlock (BenchmarkCheckpoint)"
go test ./x/anchor/keeper -run '^$' -bench BenchmarkCheckpoint -benchtime 20x -count=1 >"$tmp/endblock.txt" 2>&1 || { cat "$tmp/endblock.txt" >&2; die "BenchmarkCheckpoint failed"; }

gas() { sed -n "s/.*gas $1.* gas=\([0-9]*\).*/\1/p" "$tmp/gas.txt" | head -n 1; }
g4=$(gas 'submitCheckpoint validators=4 ')
g100=$(gas 'submitCheckpoint validators=100 ')
gv=$(gas 'verifyShares')
proof=$(sed -n 's/.*verifyShares holders=100000 proof=\([0-9]*\).*/\1/p' "$tmp/gas.txt")
ms() { awk -v n="$1" '$1 ~ "BenchmarkModelTree/"n"-" { printf "%.2f", $3 / 1e6 }' "$tmp/tree.txt"; }

entry="$tmp/entry.md"
{
  echo "### $(date -u +%Y-%m-%d), $(git describe --always --dirty): Ethereum anchor"
  echo
  echo "Machine: $(bench_machine). $(go version | awk '{print $3}'). Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Gas on go-ethereum's simulated chain (v1.16.7, cancun), contracts/ShareAnchor.sol as committed (solc 0.8.28, optimizer 200 runs)."
  echo
  echo "| what | gas |"
  echo "| --- | --- |"
  echo "| submitCheckpoint, 4 validators, all 4 signing | $g4 |"
  echo "| submitCheckpoint, 100 validators, all 100 signing | $g100 |"
  echo "| verifyShares, one of 100,000 holders ($proof-level holder proof, 1 model) | $gv |"
  echo
  echo "| full rebuild of one model's share tree | ms |"
  echo "| --- | --- |"
  echo "| 1,000 holders | $(ms 1000) |"
  echo "| 100,000 holders | $(ms 100000) |"
  echo "| one changed balance in a 100,000-holder merkle.Treap (incremental) | $(awk '$1 ~ /^BenchmarkTreapUpdate/ { printf "%.4f", $3 / 1e6 }' "$tmp/treap.txt") |"
  echo
  echo "| checkpoint in EndBlock (with its IAVL commit) | ms |"
  echo "| --- | --- |"
  for n in 1000 100000; do
    for c in 1 100; do
      echo "| $n holders, $c changed since the last checkpoint | $(awk -v k="holders=$n/changed=$c-" 'index($1, k) { printf "%.2f", $3 / 1e6 }' "$tmp/endblock.txt") |"
    done
  done
  echo
  echo "The full rebuild excludes reading the balances from the store; the checkpoint rows are the module's real path over an IAVL store (one node per holder, one path read and written per changed holder)."
  echo
} >"$entry"
cat "$entry"
[ "${BENCH_NO_DOCS:-}" = 1 ] || bench_add_entry "$entry"
