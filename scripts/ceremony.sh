#!/usr/bin/env bash
# Runs a local three-contributor Groth16 ceremony for one tile shape (see
# circuits/README.md, "Ceremony"): three phase-1 contributions, seal, three
# phase-2 contributions, finish, then verifies the whole transcript.
#
#   scripts/ceremony.sh [SHAPE] [DIR]
#
# SHAPE defaults to the tiny forward-1x4x4-T4-tol1 (seconds); the standard
# shapes (`go run ./circuits/cmd/ceremony shapes`) take minutes to hours.
# DIR defaults to ./ceremony-SHAPE and must not hold a transcript.
# CEREMONY_BIN, if set, is the ceremony tool to run (make build writes build/bin/ceremony); without it
# the tool is built here.
#
# FOR DEMOS AND LOCALNETS ONLY: all three contributors run in this one
# process tree, so whoever runs it could keep the randomness, and the beacons
# are derived from the transcript instead of a future block hash.
set -euo pipefail

shape=${1:-forward-1x4x4-T4-tol1}
dir=${2:-ceremony-$shape}
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${CEREMONY_BIN:-}" ]; then
	c=$CEREMONY_BIN
	[ -x "$c" ] || { echo "CEREMONY_BIN=$c is not an executable" >&2; exit 1; }
else
	bin=$(mktemp -d)
	trap 'rm -rf "$bin"' EXIT
	(cd "$root" && go build -o "$bin/ceremony" ./circuits/cmd/ceremony)
	c="$bin/ceremony"
fi

# A stand-in beacon: the hash of the transcript so far. A real ceremony uses
# a block hash at a height announced before the phase's last contribution.
beacon() { cat "$dir"/phase"$1"-*.bin | sha256sum | cut -d' ' -f1; }

"$c" init --shape "$shape" --dir "$dir"
for i in 1 2 3; do
	echo "phase 1, contributor $i" >&2
	"$c" contribute --dir "$dir"
done
seal=$(beacon 1)
"$c" seal --dir "$dir" --beacon "$seal"
for i in 1 2 3; do
	echo "phase 2, contributor $i" >&2
	"$c" contribute --dir "$dir"
done
fin=$(beacon 2)
"$c" finish --dir "$dir" --beacon "$fin"
"$c" verify --dir "$dir" --seal-beacon "$seal" --beacon "$fin"
echo "keys: $dir/proving.key $dir/verifying.key (seal beacon $seal, finish beacon $fin)" >&2
