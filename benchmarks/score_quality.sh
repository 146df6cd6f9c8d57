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
    if grep -q '"unchecked_prediction"' "$gen/predictions.jsonl"; then
      # Checked decoding ran (gpu_quality.sh CHECK=K): score its greedy answers alone too.
      python3 -c 'import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    r["prediction"] = r.pop("unchecked_prediction", r["prediction"])
    print(json.dumps(r))' "$gen/predictions.jsonl" > "$gen/greedy-predictions.jsonl"
      python3 -m rvtune eval --predictions "$gen/greedy-predictions.jsonl" --overwrite \
        --out "$dir/$name/eval-$which-greedy" > /dev/null
    fi
    if [ -f "$gen/base-predictions.jsonl" ]; then
      python3 -m rvtune eval --predictions "$gen/base-predictions.jsonl" --overwrite \
        --out "$dir/$name/eval-$which-base" > /dev/null
    fi
  done
done
python3 benchmarks/quality_table.py "$dir" "$@"
