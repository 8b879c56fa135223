#!/usr/bin/env bash
# Runs every native Go fuzz target of the repository for FUZZTIME each (default 30s), one after
# another, and prints what each ran and found. A target's failing input is written by go test
# under its package's testdata/fuzz/<Target>/, which is then a seed that `go test` (and so
# `make test`) replays on every run: commit it with the fix. New inputs are minimized for at
# most FUZZMINIMIZETIME (default 10s): the app's message targets build a chain per worker, and
# Go's default minute of minimizing would take most of a short run.
set -euo pipefail
cd "$(dirname "$0")/.."
time=${FUZZTIME:-30s}
status=0
while IFS=: read -r file name; do
  pkg=./$(dirname "$file")
  echo "== $pkg $name ($time)"
  if ! out=$(go test -run='^$' -fuzz="^${name}\$" -fuzztime="$time" -fuzzminimizetime="${FUZZMINIMIZETIME:-10s}" "$pkg" 2>&1); then
    status=1
  fi
  # The last progress line says how many inputs ran; a failure prints its input's file.
  echo "$out" | grep -E 'fuzz: elapsed|failing input|--- FAIL|^ok|^FAIL' | tail -3
done < <(grep -rn --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' . \
  | grep -v '/node_modules/' | sed -E 's/^\.\/([^:]+):[0-9]+:func (Fuzz[A-Za-z0-9_]+).*/\1:\2/' | sort)
exit $status
