#!/usr/bin/env bash
# Regenerates the Go code of proto/ (scripts/protocgen.sh) and fails if any generated file
# (*.pb.go, *.pb.gw.go) changed, appeared or vanished: generated code must be committed as generated.
set -euo pipefail
cd "$(dirname "$0")/.."

snapshot() {
  find . -type d \( -name .git -o -name build -o -name .localnet -o -name .bench \) -prune -o \
    -type f \( -name '*.pb.go' -o -name '*.pb.gw.go' -o -name '*.pulsar.go' \) -print0 |
    sort -z | xargs -0 -r sha256sum
}

before=$(mktemp)
after=$(mktemp)
trap 'rm -f "$before" "$after"' EXIT

snapshot >"$before"
bash scripts/protocgen.sh
snapshot >"$after"

if ! diff -u "$before" "$after"; then
  echo >&2
  echo "proto-check: generated code is out of date with proto/ (lines above: - before, + after)." >&2
  echo "proto-check: run 'make proto-gen' and commit the result." >&2
  exit 1
fi
echo "proto-check: generated code matches proto/"
