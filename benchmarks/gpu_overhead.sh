#!/usr/bin/env bash
# Where a small model's training step goes on a GPU (issue 21): one rvtune step of SmolLM2 at
# batch 8 profiled under MLX's CUDA-graph settings (MLX_MAX_OPS_PER_BUFFER: kernels per CUDA
# graph, 100 by default on sm_90; MLX_USE_CUDA_GRAPHS=0: plain launches), with the step's
# operation count; then `rvtune run` at the batches where packing should pay (256 rows).
#   OUT=/tmp/overhead bash benchmarks/gpu_overhead.sh    # logs, overhead.jsonl, table.md in $OUT
# Priority-ordered, skipped past BUDGET seconds (default 240).
set -u
OUT=${OUT:-/tmp/rvtune-overhead}
RUNS=${RUNS:-/tmp/rvtune-overhead-runs}
BUDGET=${BUDGET:-240}
mkdir -p "$OUT" "$RUNS"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
export RVTUNE_CACHE=${RVTUNE_CACHE:-/tmp/rvtune-cache} HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
J=$OUT/overhead.jsonl
: > "$J"
MODEL=${MODEL:-$(python3 -c "from rvtune.training.presets import smollm2_gguf; from rvtune.training.model import resolve_model_path; print(resolve_model_path(str(smollm2_gguf())))" 2>>"$OUT/stderr.txt" | tail -1)}
# TAR=FILE (e.g. $OUT_OF_THE_DEVICE/speed.tgz): rewritten after every run, so a call cut by its
# time limit still brings back what finished.
snap() { [ -n "${TAR:-}" ] && tar czf "$TAR.tmp" -C "$(dirname "$OUT")" "$(basename "$OUT")" && mv "$TAR.tmp" "$TAR"; return 0; }
over() { snap; if (( SECONDS > BUDGET )); then echo "skip $1 (past the ${BUDGET}s budget)"; return 0; fi; return 1; }
prof() {  # NAME ENV... -- ARGS...: profile_step.py under the given environment
  local name=$1; shift
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done; shift
  over "$name" && return
  env "${envs[@]}" timeout 90 python3 benchmarks/profile_step.py --model "$MODEL" --steps 60 "$@" \
    > "$OUT/$name.log" 2> "$OUT/$name.err"
  echo "$name rc=$? at ${SECONDS}s"
  snap
  tail -1 "$OUT/$name.log" | python3 -c "import json,sys; r=json.loads(sys.stdin.read()); r['name']='$name'; r['env']='${envs[*]}'; print(json.dumps(r))" >> "$J" 2>/dev/null
}
COMMON="--preset smollm2 --rank 16 --alpha 32 --learning-rate 2e-4 --warmup 0 --lr-schedule constant
  --dataset-size 12000 --steps-per-eval 1000000 --val-batches 1 --save-every 1000000 --sample-tokens 0"
rv() {  # NAME ENV -- FLAGS...: one `rvtune run`
  local name=$1 envs=$2; shift 3
  over "$name" && return
  rm -rf "${RUNS:?}/$name"
  env $envs timeout 90 python3 -m rvtune run $COMMON --run-dir "$RUNS/$name" "$@" > "$OUT/$name.log" 2>&1
  echo "$name rc=$? at ${SECONDS}s"
  snap
  cp "$RUNS/$name/metrics.jsonl" "$OUT/$name.metrics.jsonl" 2>/dev/null
}

prof b8-default X=1 -- --bits 4 --batch 8 --count-nodes
prof b8-ops1000 MLX_MAX_OPS_PER_BUFFER=1000 -- --bits 4 --batch 8
prof b8-nographs MLX_USE_CUDA_GRAPHS=0 -- --bits 4 --batch 8
prof b8-ops4000 MLX_MAX_OPS_PER_BUFFER=4000 MLX_MAX_MB_PER_BUFFER=4000 -- --bits 4 --batch 8
prof b8-ops30 MLX_MAX_OPS_PER_BUFFER=30 -- --bits 4 --batch 8
rv b256-pack "" -- --batch-size 256 --iters 40 --steps-per-report 10 --pack
rv b256-nopack "" -- --batch-size 256 --iters 40 --steps-per-report 10 --no-pack
prof b64-default X=1 -- --bits 4 --batch 64 --steps 30
prof b64-ops1000 MLX_MAX_OPS_PER_BUFFER=1000 -- --bits 4 --batch 64 --steps 30
python3 - "$J" "$OUT" <<'EOF' | tee "$OUT/table.md"
import json, sys
from pathlib import Path
print("| profile | env | prep ms | call ms | eval ms | serial step ms | pipelined step ms | tokens/s |")
print("|---|---|---|---|---|---|---|---|")
for line in open(sys.argv[1]):
    r = json.loads(line); m = r["median_ms"]
    print(f"| {r['name']} | {r['env']} | {m.get('prep')} | {m.get('call')} | {m.get('eval')} | "
          f"{r['step_ms_serial']} | {r['step_ms_pipelined']} | {r['tokens_per_s_serial']:,} |")
    if r.get("graph_nodes"):
        print(f"\n{r['name']} graph: {json.dumps(r['graph_nodes'])}\n")
for f in sorted(Path(sys.argv[2]).glob("b256*.metrics.jsonl")):
    rows = [json.loads(l) for l in open(f)]
    rows = [r for r in rows if r.get("type") == "train"][2:]
    tps = sorted(r["tokens_per_second"] for r in rows)
    peak = max((r["peak_memory_gb"] for r in rows), default=0)
    print(f"{f.name}: median tokens/s from the 3rd report on "
          f"{tps[len(tps) // 2] if tps else '-':,.0f}, peak {peak:.2f} GB")
EOF
