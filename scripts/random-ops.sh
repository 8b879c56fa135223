#!/usr/bin/env bash
# TestRandomOperations with more and longer runs than make test's: RANDOM_SEEDS seeds (default
# 5), each of RANDOM_BLOCKS blocks (default 1000). A seed is new each run (the clock); a failure
# names its seed, which `go test ./app -run TestRandomOperations -random.seed=N` replays.
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${RANDOM_SEEDS:-5}
blocks=${RANDOM_BLOCKS:-1000}
for _ in $(seq "$seeds"); do
  seed=$(( $(date +%s%N) & 0x7fffffffffffffff ))
  echo "== seed $seed, $blocks blocks"
  go test ./app -run 'TestRandomOperations$' -count=1 -timeout 60m -random.seed="$seed" -random.blocks="$blocks"
done
