#!/usr/bin/env bash
# make bench-verify: what verification costs, as a markdown entry added to docs/BENCHMARKS.md:
#   - the overhead of commitments and attestations on a training step (trainer/attest
#     BenchmarkAttestOverhead: the "small" model's middle stage at d_model 128, 256 and 512, 4
#     sequences × 64 tokens per microbatch; the tapped backward's extra cost plus quantizing,
#     committing and storing the designated layer, once per step, against the step's forwards
#     and backwards);
#   - the same overhead measured directly (BenchmarkAttestedTraining: a real Attester committing
#     beside training, plain and attested runs alternating), with every core and with one
#     (GOMAXPROCS=1: the commit's full CPU share);
#   - the proof of a challenge response for each tile kind of that model (256 rows × 128 × 128,
#     T = 4: recommit the stored layer, open, prove; BenchmarkProveChallenge);
#   - on-chain verification: the response tx's gas and the keeper's verify time with the cached
#     parsed key and from the key's bytes (app BenchmarkRespondChallenge);
#   - EndBlock with 1,000 attestations due in one block (app BenchmarkEndBlockPending: draws and
#     finalizations), and the gas of submitting 8 steps on stage 0 and on a later stage;
#   - the measured catch rate of a cheater against 1 − (1 − rate·f)^n (x/verify/types
#     TestCatchRateMatchesTheory, 4000 simulated trials per row over the chain's own draw);
#   - a replay dispute's size at "small" (x/verify/types BenchmarkDisputeProgramSmall: the
#     program a validator builds at a move, its ops and chunks, the most moves).
#
# Environment: BENCH_NO_DOCS=1 prints only.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run() {
  local name=$1 out=$2
  shift 2
  log "$name"
  go test "$@" -count=1 >"$tmp/$out" 2>&1 || { cat "$tmp/$out" >&2; die "$name failed"; }
}
run "step overhead (BenchmarkAttestOverhead)" overhead.txt ./trainer/attest -run '^$' -bench BenchmarkAttestOverhead -benchtime 10x
run "step overhead, measured (BenchmarkAttestedTraining)" trained.txt ./trainer/attest -run '^$' -bench BenchmarkAttestedTraining -benchtime 1x
GOMAXPROCS=1 run "step overhead, measured on one core (BenchmarkAttestedTraining, GOMAXPROCS=1)" trained1.txt ./trainer/attest -run '^$' -bench BenchmarkAttestedTraining -benchtime 1x
run "challenge proofs (BenchmarkProveChallenge)" prove.txt ./trainer/attest -run '^$' -bench BenchmarkProveChallenge -benchtime 5x
run "on-chain verification (BenchmarkRespondChallenge)" verify.txt ./app -run '^$' -bench BenchmarkRespondChallenge -benchtime 200x -v
run "EndBlock with 1,000 attestations due (BenchmarkEndBlockPending)" endblock.txt ./app -run '^$' -bench BenchmarkEndBlockPending -benchtime 1x -v
run "catch rate (TestCatchRateMatchesTheory)" catch.txt ./x/verify/types -run '^TestCatchRateMatchesTheory$' -v
run "a dispute's size at small (BenchmarkDisputeProgramSmall)" dispute.txt ./x/verify/types -run '^$' -bench BenchmarkDisputeProgramSmall -benchtime 20x

metric() { awk -v unit="$2" -v name="$1" '$1 ~ name { for (i = 3; i < NF; i++) if ($(i + 1) == unit) { print $i; exit } }' "$tmp/$3"; }
msop() { awk -v name="$1" '$1 ~ name && $3 ~ /^[0-9.]+$/ { printf "%.2f", $3 / 1e6; exit }' "$tmp/$2"; }

entry="$tmp/entry.md"
{
  echo "### $(date -u +%Y-%m-%d), $(git describe --always --dirty): verification (x/verify, trainer/attest)"
  echo
  echo "Machine: $(bench_machine). $(go version | awk '{print $3}'). Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "**Overhead on a training step** (\"small\" model's middle stage of 2 layers, 256-row tile, Go backend, one goroutine; target ≤ 5%):"
  echo
  echo "| d_model | forward | backward | tapped backward, extra | commit + store, per step | the same, X̂ derived from the payload | payload digest / flat SHA-256, per frame | overhead, 4 microbatches/step | with the input tile | overhead, 8 microbatches/step | with the input tile |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  for d in 128 256 512; do
    b="AttestOverhead/d$d-"
    echo "| $d | $(metric "$b" fwd_ms overhead.txt) ms | $(metric "$b" bwd_ms overhead.txt) ms | $(metric "$b" tap_extra_ms overhead.txt) ms | $(metric "$b" commit_ms overhead.txt) ms | $(metric "$b" commit_derived_ms overhead.txt) ms | $(metric "$b" payload_digest_us overhead.txt) / $(metric "$b" payload_sha256_us overhead.txt) µs | $(metric "$b" overhead_4mb_% overhead.txt)% | $(metric "$b" overhead_input_4mb_% overhead.txt)% | $(metric "$b" overhead_8mb_% overhead.txt)% | $(metric "$b" overhead_input_8mb_% overhead.txt)% |"
  done
  echo
  echo "Measured directly: the stage trains 8 steps of 4 microbatches while a real attester commits every step beside it (median of 3 alternating runs each):"
  echo
  echo "| cores | plain step | attested step | overhead |"
  echo "| --- | --- | --- | --- |"
  echo "| $(nproc) | $(metric AttestedTraining plain_step_ms trained.txt) ms | $(metric AttestedTraining attested_step_ms trained.txt) ms | $(metric AttestedTraining overhead_% trained.txt)% |"
  echo "| 1 (GOMAXPROCS=1) | $(metric AttestedTraining plain_step_ms trained1.txt) ms | $(metric AttestedTraining attested_step_ms trained1.txt) ms | $(metric AttestedTraining overhead_% trained1.txt)% |"
  echo
  echo "**Challenge response proof** (recommit the stored layer, open the tile, Groth16 prove; 256 rows × 128 × 128, T = 4):"
  echo
  echo "| forward | backward | tie |"
  echo "| --- | --- | --- |"
  echo "| $(msop 'ProveChallenge/CHALLENGE_KIND_FORWARD' prove.txt) ms | $(msop 'ProveChallenge/CHALLENGE_KIND_BACKWARD' prove.txt) ms | $(msop 'ProveChallenge/CHALLENGE_KIND_TIE' prove.txt) ms |"
  echo
  echo "**On-chain verification** (in-process chain, d_model 16 test model): $(sed -n 's/.*verify_bench_test.go:[0-9]*: //p' "$tmp/verify.txt");"
  echo "verify $(msop 'RespondChallenge/parsed-key' verify.txt) ms with the parsed key the keeper caches, $(msop 'RespondChallenge/key-bytes' verify.txt) ms from the key's bytes (verify time does not depend on the shape)."
  echo
  echo "**EndBlock** (in-process chain): $(sed -n 's/.*verify_bench_test.go:[0-9]*: //p' "$tmp/endblock.txt")."
  echo
  echo "**A replay dispute at \"small\"** (stage 1, 4 sequences a microbatch; BenchmarkDisputeProgramSmall): the chain builds the reference program in $(msop DisputeProgramSmall dispute.txt) ms at each move that needs it; $(metric DisputeProgramSmall ops dispute.txt) ops, the largest output $(metric DisputeProgramSmall output-chunks dispute.txt) chunks, a state tensor $(metric DisputeProgramSmall state-chunks dispute.txt) chunks; at most $(metric DisputeProgramSmall max-rounds dispute.txt) rounds (a move of each side) over one attestation of 8 steps of 4 microbatches."
  echo
  echo "**Catch rate** of a cheater that fails a fraction q of the kinds on a fraction F of its steps (f = qF: faked outputs fail forward and backward, an input of its own only the input tile; three kinds on an uncompressed model, four on a compressed one), n attestations, measured over 4000 trials of the chain's draw:"
  echo
  echo "| cheater | rate | F | f | n | measured | 1 − (1 − rate·f)^n |"
  echo "| --- | --- | --- | --- | --- | --- | --- |"
  sed -n 's/.*spotcheck_test.go:[0-9]*: \([^:]*\): rate \([0-9.]*\), cheated steps \([0-9.]*\) (f = \([0-9.]*\)), n \([0-9]*\): caught \([0-9.]*\), theory \([0-9.]*\)/| \1 | \2 | \3 | \4 | \5 | \6 | \7 |/p' "$tmp/catch.txt"
  echo
} >"$entry"
cat "$entry"
[ "${BENCH_NO_DOCS:-}" = 1 ] || bench_add_entry "$entry"
