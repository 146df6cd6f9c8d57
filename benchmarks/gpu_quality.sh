#!/usr/bin/env bash
# Held-out quality of `rvtune run --preset smollm2` on one GPU (docs/quality.md): trains the
# preset's defaults and variants side by side on the one GPU (a 135M model leaves it mostly
# idle, so concurrent runs cost little), then scores each on the built-in held-out rows and on
# the hand-written riscv-phrasings set, base model beside fine-tuned.
#   OUT=/tmp/q bash benchmarks/gpu_quality.sh "A" "B --learning-rate 2e-4" ...
# Each argument is a run name followed by extra `rvtune run` flags.
set -u
OUT=${OUT:-/tmp/rvtune-quality}
mkdir -p "$OUT"
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
  rm -rf "$OUT/$name"
  ( /usr/bin/time -v python3 -m rvtune run --preset smollm2 --run-dir "$OUT/$name" "$@" \
      > "$OUT/$name.train.log" 2>&1; echo "train $name rc=$?" ) &
done
wait
first=1
for name in "${names[@]}"; do
  base=$([ $first = 1 ] && echo --compare-base || echo --no-compare-base)
  ( python3 -m rvtune eval --run "$OUT/$name" --batch-size 64 --max-tokens 128 $base \
      --out "$OUT/$name/eval-heldout" > "$OUT/$name.eval-heldout.log" 2>&1
    python3 -m rvtune eval --run "$OUT/$name" --data riscv-phrasings --batch-size 64 \
      --max-tokens 128 $base --out "$OUT/$name/eval-phrasings" \
      > "$OUT/$name.eval-phrasings.log" 2>&1; echo "eval $name rc=$?" ) &
  first=0
done
wait
python3 benchmarks/quality_table.py "$OUT" "${names[@]}" | tee "$OUT/table.md"
