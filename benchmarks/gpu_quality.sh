#!/usr/bin/env bash
# Held-out quality of `rvtune run --preset smollm2` on one GPU (docs/quality.md): trains the
# preset's defaults and variants side by side on the one GPU (a 135M model leaves it mostly
# idle, so concurrent runs cost little), then scores each on the built-in held-out rows and on
# the hand-written riscv-phrasings set, base model beside fine-tuned.
#   OUT=/tmp/q bash benchmarks/gpu_quality.sh "A" "B --learning-rate 2e-4" ...
# Each argument is a run name followed by extra `rvtune run` flags. Runs live in $RUNS (kept
# for a later call); the small files (logs, summaries, metrics, eval reports) go to $OUT.
# STAGE=train stops after training; STAGE=eval (a later call on the same machine) resumes any
# run that training cut short (`rvtune run --resume`), then generates. CHECK=K generates with
# checked decoding (`rvtune eval --check-samples K`; needs an assembler on the GPU machine,
# e.g. GNU as carried there); BASE=0 skips the base model (already measured).
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
STAGE=${STAGE:-all}
names=()
for spec in "$@"; do
  set -- $spec
  name=$1; shift
  names+=("$name")
  if [ "$STAGE" = eval ]; then
    [ -e "$RUNS/$name/summary.json" ] && continue
    ( timeout "$TRAIN_LIMIT" python3 -m rvtune run --resume "$RUNS/$name" \
        > "$OUT/$name.resume.log" 2>&1; echo "resume $name rc=$? $(date +%T)" ) &
    continue
  fi
  rm -rf "${RUNS:?}/$name"
  ( timeout "$TRAIN_LIMIT" python3 -m rvtune run --preset smollm2 --run-dir "$RUNS/$name" "$@" \
      > "$OUT/$name.train.log" 2>&1; echo "train $name rc=$? $(date +%T)" ) &
done
wait
if [ "$STAGE" = train ]; then
  for name in "${names[@]}"; do tail -n 3 "$OUT/$name.train.log"; done
  exit 0
fi
# Generate only (160 new tokens: the longest built-in snippet is 140 tokens): the GPU machine
# may have no RISC-V assembler. Scoring happens where one is
# installed: bash benchmarks/score_quality.sh DIR (after unpacking $OUT/quality.tgz).
first=1
for name in "${names[@]}"; do
  base=$([ $first = 1 ] && [ "${BASE:-1}" = 1 ] && echo --compare-base || echo --no-compare-base)
  for which in heldout phrasings; do
    data=$([ $which = phrasings ] && echo "--data riscv-phrasings")
    ( timeout "$EVAL_LIMIT" python3 -m rvtune eval --run "$RUNS/$name" $data --batch-size 64 \
        --max-tokens 160 $base --generate-only --check-samples "${CHECK:-0}" \
        --out "$RUNS/$name/gen-$which" \
        > "$OUT/$name.gen-$which.log" 2>&1
      echo "generate $name $which rc=$? $(date +%T)" ) &
  done
  first=0
done
wait
stage=$(mktemp -d)
for name in "${names[@]}"; do
  mkdir -p "$stage/$name"
  cp "$RUNS/$name"/{summary.json,metrics.jsonl,config.yaml,run.log} "$stage/$name/" 2>/dev/null
  cp -r "$RUNS/$name"/gen-* "$stage/$name/" 2>/dev/null
  cp "$OUT/$name".*.log "$stage/$name/" 2>/dev/null
done
tar czf "$OUT/quality.tgz" -C "$stage" .
for name in "${names[@]}"; do
  python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print(sys.argv[2], s['steps'], 'steps', s['train_seconds'], 's, loss', round(s['train_loss'],3), 'val', round(s['val_loss'],3))" "$RUNS/$name/summary.json" "$name" 2>/dev/null || echo "$name: no summary"
done
