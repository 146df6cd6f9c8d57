#!/usr/bin/env bash
# Every single-GPU measurement of docs/benchmarks.md (sections 4 and 6) in one go, on a
# machine where MLX runs on CUDA (see ../shared/gpu/README.md for getting it there):
#   bash benchmarks/gpu_suite.sh            # JSON lines to $OUT/gpu.jsonl, a table at the end
set -u
OUT=${OUT:-/tmp/rvtune-bench}
mkdir -p "$OUT"
J=$OUT/gpu.jsonl
: > "$J"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import mlx.core as mx; print('mlx', mx.__version__, mx.default_device())"
export CUDA_VISIBLE_DEVICES=${GPU:-0}
run() { timeout 400 python3 benchmarks/qlora_step.py --shape mistral-7b "$@" 2>>"$OUT/stderr.txt" | tail -1 | tee -a "$J"; }
for b in 4 16; do
  run --batch $b --seq 256 --impl mlx-lm --steps 10 $([ $b = 4 ] && echo --matmul)
  run --batch $b --seq 256 --impl rvtune --fast-qmm off
  run --batch $b --seq 256 --impl rvtune --fast-qmm on
  run --batch $b --seq 256 --impl rvtune --fast-qmm on --forward-rows 1024
done
run --batch 4 --seq 256 --impl rvtune --fast-qmm on --grad-checkpoint
run --batch 4 --seq 256 --fast-qmm off --breakdown --steps 5
run --batch 4 --seq 256 --fast-qmm on --breakdown --steps 5
run --batch 4 --seq 256 --fast-qmm on --forward-rows 1024 --breakdown --steps 5
python3 benchmarks/gpu_table.py "$J" | tee "$OUT/table.md"
