#!/usr/bin/env bash
# Gas of x/shares' MsgPayRevenue, MsgClaimRevenue and a bank send of shares with 10, 1,000 and
# 100,000 holders (an in-process chain driven through ABCI), appended to docs/BENCHMARKS.md.
# The test itself fails if the gas grows with the number of holders.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

out=$(mktemp)
trap 'rm -f "$out"' EXIT
log "x/shares revenue gas with 10 / 1,000 / 100,000 holders"
BENCH_OUT=$out go test -count=1 -tags bench -run TestRevenueGasDoesNotGrowWithHolders ./app/ >&2

machine="$(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
entry=$(mktemp)
{
  printf '### %s, %s: x/shares revenue gas\n\n' "$(date -u +%Y-%m-%d)" "$(git describe --tags --always --dirty 2>/dev/null || echo dev)"
  printf 'Machine: %s. Go %s. One signed tx per row and operation, in-process chain (app tests'"'"' ABCI driver), holders given share/1 in genesis.\n\n' \
    "$machine" "$(go env GOVERSION | sed 's/^go//')"
  cat "$out"
  printf '\nGas is flat in the number of holders: payments, claims and transfers are O(1).\n\n'
} > "$entry"
cat "$entry"

doc=docs/BENCHMARKS.md
marker='<!-- bench-results: scripts/bench-chain.sh adds runs below this line, newest first -->'
grep -qF "$marker" "$doc" || die "$doc lacks the results marker"
awk -v marker="$marker" -v entry="$entry" '
  { print }
  $0 == marker { print ""; while ((getline line < entry) > 0) print line }
' "$doc" > "$doc.tmp" && mv "$doc.tmp" "$doc"
log "added to $doc"
