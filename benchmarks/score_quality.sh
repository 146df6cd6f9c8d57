#!/usr/bin/env bash
# Score what benchmarks/gpu_quality.sh generated (needs a RISC-V assembler, e.g. llvm-mc):
#   mkdir q && tar xzf quality.tgz -C q && bash benchmarks/score_quality.sh q A B C
set -u
dir=$1; shift
for name in "$@"; do
  for which in heldout phrasings; do
    gen="$dir/$name/gen-$which"
    [ -f "$gen/predictions.jsonl" ] || { echo "$name $which: no predictions"; continue; }
    python3 -m rvtune eval --predictions "$gen/predictions.jsonl" --overwrite \
      --out "$dir/$name/eval-$which" > /dev/null
    if [ -f "$gen/base-predictions.jsonl" ]; then
      python3 -m rvtune eval --predictions "$gen/base-predictions.jsonl" --overwrite \
        --out "$dir/$name/eval-$which-base" > /dev/null
    fi
  done
done
python3 benchmarks/quality_table.py "$dir" "$@"
