#!/usr/bin/env bash
# Issue 15's memory and PEFT side-by-side in one GPU call: rvtune's QLoRA step, transformers +
# PEFT + bitsandbytes NF4 and plain mlx-lm on the Mistral-7B shape (random weights, 4-bit,
# LoRA rank 16 on all seven projections), 4 x 256 and 16 x 256 tokens.
#   OUT=/tmp/mem bash benchmarks/gpu_memory.sh     # $OUT/memory.jsonl, logs, table.md
# Runs are in priority order; each has a timeout and is skipped once BUDGET seconds (default
# 370) have passed, and the last one stops by BUDGET + 30 s, so the whole call stays under seven minutes. Steps are few (WARMUP 3,
# STEPS 8): a 7B step takes 0.1 to 1 s. PEFT's model is built in bf16 on the GPU and its
# projections swapped for bitsandbytes Linear4bit NF4 layers (QUANT=replace, the default; the
# layers from_pretrained(quantization_config=BitsAndBytesConfig(...)) gives); QUANT=load saves
# the random model once to PEFT_CACHE and loads it back that way (needs accelerate, 14 GB of disk). Needs PYTHONPATH with the repository
# (added here too), mlx, torch, transformers, peft and bitsandbytes importable by python3.
set -u
OUT=${OUT:-/tmp/rvtune-memory}
BUDGET=${BUDGET:-370}
WARMUP=${WARMUP:-3}
STEPS=${STEPS:-8}
QUANT=${QUANT:-replace}
PEFT_CACHE=${PEFT_CACHE:-/tmp/rvtune-peft-models}
PY=${PY:-python3}
mkdir -p "$OUT"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
J=$OUT/memory.jsonl
: > "$J"
{ date -u +%Y-%m-%dT%H:%MZ
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null
  $PY -c "import mlx.core as mx; print('mlx', mx.__version__, mx.default_device())"
  $PY -c "import torch, transformers, peft; print('torch', torch.__version__, 'transformers', transformers.__version__, 'peft', peft.__version__)"
  $PY -c "import bitsandbytes as b; print('bitsandbytes', b.__version__)"
} 2>&1 | tee "$OUT/machine.txt"

# TAR=FILE: rewritten after every run, so a call cut by its time limit still brings back what
# finished.
snap() { [ -n "${TAR:-}" ] && tar czf "$TAR.tmp" -C "$(dirname "$OUT")" "$(basename "$OUT")" && mv "$TAR.tmp" "$TAR"; return 0; }
over() { snap; if (( SECONDS > BUDGET )); then echo "skip $1 (past the ${BUDGET}s budget)"; return 0; fi; return 1; }
run() {  # NAME LIMIT_S SCRIPT ARGS...: one benchmark process; its last stdout line (JSON) kept
  local name=$1 limit=$2; shift 2
  over "$name" && return
  local left=$(( BUDGET + 30 - SECONDS )); (( left < limit )) && limit=$left
  timeout "$limit" $PY "$@" > "$OUT/$name.log" 2> "$OUT/$name.err"
  echo "$name rc=$? at ${SECONDS}s: $(tail -1 "$OUT/$name.log" | cut -c1-220)"
  tail -1 "$OUT/$name.log" | $PY -c "import json,sys; r=json.loads(sys.stdin.read()); r['name']='$name'; print(json.dumps(r))" >> "$J" 2>/dev/null
  snap
}
RV="benchmarks/qlora_step.py --shape mistral-7b --seq 256 --warmup $WARMUP --steps $STEPS"
# rvtune's CUDA default: fast backward, dense forward from 1024 rows (as the trainer runs it).
RVD="$RV --impl rvtune --fast-qmm auto --forward-rows 1024"
PEFT="benchmarks/peft_qlora_step.py --shape mistral-7b --seq 256 --warmup $WARMUP --steps $STEPS --quant $QUANT --cache $PEFT_CACHE"

# PART=1 (default) and PART=2: the table in two calls of under ten minutes each. rvtune caps
# what a CUDA graph keeps alive (rvtune/training/cuda.py, MLX_MAX_MB_PER_BUFFER=64 unless set);
# "graph-off" rows run with MLX's default (RVTUNE_CUDA_GRAPH_MB=off), plain mlx-lm always does
# unless a row says otherwise.
SMOL="benchmarks/qlora_step.py --shape smollm2-135m --seq 48 --warmup 5 --steps 30 --impl rvtune --fast-qmm auto --forward-rows 1024 --batch 8"
if [ "${PART:-1}" = 1 ]; then
  run probe-graph-default 40 benchmarks/mlx_memory_probes.py --only graph_retention
  MLX_MAX_MB_PER_BUFFER=64 run probe-graph-64 40 benchmarks/mlx_memory_probes.py --only graph_retention
  run rvtune-4x256        90 $RVD --batch 4
  RVTUNE_CUDA_GRAPH_MB=off run rvtune-4x256-graph-off 90 $RVD --batch 4
  run mlx-lm-4x256        90 $RV --impl mlx-lm --batch 4
  run rvtune-4x256-ckpt   90 $RVD --batch 4 --grad-checkpoint
  run peft-4x256         150 $PEFT --batch 4
  RVTUNE_CUDA_GRAPH_MB=16 run rvtune-4x256-graph16 90 $RVD --batch 4
else
  run rvtune-16x256       90 $RVD --batch 16
  run peft-16x256         90 $PEFT --batch 16
  run mlx-lm-16x256       90 $RV --impl mlx-lm --batch 16
  run peft-4x256-ckpt     90 $PEFT --batch 4 --grad-checkpoint
  MLX_MAX_MB_PER_BUFFER=64 run mlx-lm-4x256-graph64 90 $RV --impl mlx-lm --batch 4
  run smollm2-b8          60 $SMOL
  RVTUNE_CUDA_GRAPH_MB=off run smollm2-b8-graph-off 60 $SMOL
  RVTUNE_CUDA_GRAPH_MB=16 run rvtune-4x256-ckpt-graph16 90 $RVD --batch 4 --grad-checkpoint
fi
$PY benchmarks/memory_table.py "$J" | tee "$OUT/table.md"
snap
