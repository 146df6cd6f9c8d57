#!/usr/bin/env bash
# Held-out quality of `rvtune run --preset smollm2` on one GPU (docs/quality.md): trains the
# preset's defaults and variants side by side on the one GPU (a 135M model leaves it mostly
# idle, so concurrent runs cost little), then scores each on the built-in held-out rows and on
# the hand-written riscv-phrasings set, base model beside fine-tuned.
#   OUT=/tmp/q bash benchmarks/gpu_quality.sh "A" "B --learning-rate 2e-4" ...
# Each argument is a run name followed by extra `rvtune run` flags. Runs live in $RUNS (kept
# for a later call); the small files (logs, summaries, metrics, eval reports) go to $OUT.
set -u
OUT=${OUT:-/tmp/rvtune-quality}
RUNS=${RUNS:-/tmp/rvtune-runs}
TRAIN_LIMIT=${TRAIN_LIMIT:-400}
EVAL_LIMIT=${EVAL_LIMIT:-240}
mkdir -p "$OUT" "$RUNS"
export RVTUNE_CACHE=${RVTUNE_CACHE:-/tmp/rvtune-cache} HF_HUB_OFFLINE=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null
python3 -c "import mlx.core as mx; print('mlx', mx.__version__, mx.default_device())"
# Convert the GGUF once before the runs start (they would race for the cache otherwise).
python3 -c "from rvtune.training.presets import smollm2_gguf; from rvtune.training.model import resolve_model_path; print(resolve_model_path(str(smollm2_gguf())))"
names=()
for spec in "$@"; do
  set -- $spec
  name=$1; shift
  names+=("$name")
  rm -rf "${RUNS:?}/$name"
  ( timeout "$TRAIN_LIMIT" python3 -m rvtune run --preset smollm2 --run-dir "$RUNS/$name" "$@" \
      > "$OUT/$name.train.log" 2>&1; echo "train $name rc=$? $(date +%T)" ) &
done
wait
first=1
for name in "${names[@]}"; do
  base=$([ $first = 1 ] && echo --compare-base || echo --no-compare-base)
  for which in heldout phrasings; do
    data=$([ $which = phrasings ] && echo "--data riscv-phrasings")
    ( timeout "$EVAL_LIMIT" python3 -m rvtune eval --run "$RUNS/$name" $data --batch-size 64 \
        --max-tokens 128 $base --out "$RUNS/$name/eval-$which" > "$OUT/$name.eval-$which.log" 2>&1
      echo "eval $name $which rc=$? $(date +%T)" ) &
  done
  first=0
done
wait
for name in "${names[@]}"; do
  mkdir -p "$OUT/$name"
  cp "$RUNS/$name"/{summary.json,metrics.jsonl,config.yaml,run.log} "$OUT/$name/" 2>/dev/null
  for which in heldout phrasings; do
    mkdir -p "$OUT/$name/eval-$which"
    cp "$RUNS/$name/eval-$which"/{eval.json,eval.jsonl,report.md} "$OUT/$name/eval-$which/" 2>/dev/null
  done
done
python3 benchmarks/quality_table.py "$OUT" "${names[@]}" | tee "$OUT/table.md"
