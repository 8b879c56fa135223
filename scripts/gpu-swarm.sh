#!/usr/bin/env bash
# gpu-swarm.sh: the swarm on a GPU machine without Go: 4 `trainer run` processes of the gpu-2048
# spec (d_model 2048, 4 stages of 2 layers, k = 20) sharing one GPU through the XLA backend
# (jax's CUDA PJRT plugin), every worker's outgoing streams shaped to 80 Mbit/s, 50 ms;
# compressed, then uncompressed. Prepare it here (this machine has Go), then run it there:
#
#   mkdir -p build/gpu && cp scripts/gpu-swarm.sh build/gpu/run.sh
#   CGO_ENABLED=1 GOEXPERIMENT=simd go build -tags xla -ldflags "-s -w" -o build/gpu/trainer-xla ./trainer/cmd/trainer
#   gzip -f build/gpu/trainer-xla                     # the carried tree is limited to 64 MiB
#   tar czf build/gpu/corpus.tar.gz -C "$(go env GOROOT)/src" net fmt strings bytes
#   # on the GPU machine, with the repository checked out and build/gpu carried:
#   OUT=/tmp/out bash build/gpu/run.sh
#
# It writes each run's losses.csv, eval.csv, stdout and the workers' start/stop lines to $OUT.
set -uo pipefail
cd "$(dirname "$0")" || exit 1
gunzip -kf trainer-xla.gz && chmod +x trainer-xla
mkdir -p corpus && tar xzf corpus.tar.gz -C corpus
PLUGIN=$(python3 -c "import glob,site; print(([f for d in site.getsitepackages() for f in glob.glob(d+'/jax_plugins/xla_cuda*/xla_cuda_plugin.so')] or [''])[0])")
SITE=$(dirname "$(dirname "$(dirname "$PLUGIN")")")
export XLA_FLAGS="--xla_gpu_cuda_data_dir=$SITE/nvidia/cu13" GOMLX_NO_AUTO_INSTALL=1
echo "plugin=$PLUGIN site=$SITE"; nvidia-smi --query-gpu=name,memory.total --format=csv
BE="xla:$PLUGIN,preallocate=false"
mkdir -p "$OUT"
export GOPJRT_CUDA_CHECKS=0
run() { # NAME EXTRA
  DIR=/tmp/sw-$1 TRAINER=$PWD/trainer-xla STAGES=4 REPLICAS=1 SPEC=gpu-2048 STEPS=${STEPS:-5} ROWS=2 MICROBATCHES=4 \
    EVAL_EVERY=2 BANDWIDTH=80Mbit LATENCY=50ms EXTRA="--backend $BE --data $PWD/corpus --eval-batches 2 --ack-timeout 60s --timeout 10m --lr 3e-4 $2" \
    timeout "${3:-250}" bash ../../scripts/swarm.sh > "$OUT/$1.out" 2>&1; echo "$1 rc=$?"; tail -4 "$OUT/$1.out"
  cp "/tmp/sw-$1/out/s3-r0/losses.csv" "$OUT/$1-losses.csv" 2>/dev/null; cp "/tmp/sw-$1/out/s3-r0/eval.csv" "$OUT/$1-eval.csv" 2>/dev/null
  grep -h "msg=worker\|msg=stopped\|level=ERROR" "/tmp/sw-$1"/logs/*.log > "$OUT/$1-summary.log" 2>/dev/null
}
STEPS=40 run comp "" 240
STEPS=12 run raw "--compression-rank 0" 300
