"""Trainer overhead: `rvtune run` against plain `python -m mlx_lm lora`, same model, data, settings.

    python benchmarks/bench_trainer_overhead.py [--iters 200] [--rounds 2]

Both sides train LoRA on the offline tiny preset model (``tiny_model_path()``: a 2-layer
Mistral-architecture model in float32), unquantized (``rvtune run --bits 0``; mlx_lm without
quantization), on the same prepared data (``rvtune prepare --dataset riscv --dataset-size 1000
--formatter chatml --seed 0 --out DIR``; mlx_lm reads DIR. ``rvtune run`` has no "train on a
prepared dir" mode, it always prepares into RUN_DIR/data, so it gets the same prepare options
and the script checks that its train.jsonl / valid.jsonl are byte-identical to DIR's). Both
read the ``text`` field, and rvtune runs
with ``--no-mask-prompt`` because mlx_lm's text datasets train on the whole row). Settings:
batch 4, rank 16, alpha 16 (mlx_lm: scale 1.0), the seven projections, all layers, Adam at
1e-5 constant, seed 0, report every 10 steps, validation effectively off (steps-per-eval past
the end; mlx_lm still validates at step 1 and at the last step, rvtune at step 0 and the end,
one batch each, outside the timed windows of both), no mid-run saves.

Runs are interleaved: mlx-lm, rvtune, mlx-lm, rvtune, ... (``--rounds`` rounds), each in a
fresh process. For each run the table shows the median over its report windows, excluding
the first (it holds the compilation of the step).

Where the numbers come from:

* rvtune: the ``train`` records of ``RUN_DIR/metrics.jsonl`` (``tokens_per_second``,
  ``peak_memory_gb``), written by ``rvtune/training/loop.py``.
* mlx-lm: mlx_lm 0.32's stdout UI prints tok/s but not peak memory, so mlx_lm is started
  through a tiny wrapper (``python -c``) that runs ``mlx_lm.lora.main()`` with the same argv
  as ``python -m mlx_lm lora`` and only swaps ``mlx_lm.lora.get_reporting_callbacks`` for one
  returning a ``TrainingCallback`` that prints each ``on_train_loss_report`` dict as JSON
  (``tokens_per_second``, ``peak_memory``). The training path is mlx_lm's own
  (``mlx_lm.lora.run`` -> ``train_model`` -> ``tuner.trainer.train``).

Token definitions (both are comparable): mlx_lm's ``tokens_per_second`` is
``sum(mask)`` / time where mask covers target positions ``1 <= p <= length`` of each row
(the padded width is ``1 + 32k >= length + 1``), i.e. the sum of the row lengths. rvtune's is
``sum(lengths)`` of the batch rows / time, also the sum of the row lengths. Both append EOS to
rows that lack it. So both count the same tokens per row; the time windows both cover the
batch step plus evaluation of the update (not validation).

Differences that remain (part of what is measured): rvtune pads a batch to a multiple of 16
tokens, mlx_lm to 1 + a multiple of 32; the batch order differs (different shuffles of
length-sorted batches), which is why tokens/s (not steps/s) is compared; mlx_lm drops the
last incomplete batch, rvtune fills it. Peak memory is ``mx.get_peak_memory()`` on both
sides, never reset, so it is the process peak up to that report (model, data, optimizer).
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PREPARE = ["--dataset", "riscv", "--dataset-size", "1000", "--formatter", "chatml",
           "--seed", "0"]
SEVEN = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
         "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]

MLX_WRAPPER = r"""
import json, sys
import mlx_lm.lora as L
from mlx_lm.tuner.callbacks import TrainingCallback

class Emit(TrainingCallback):
    def on_train_loss_report(self, info):
        print("BENCH_TRAIN " + json.dumps({k: float(v) for k, v in info.items()}), flush=True)

L.get_reporting_callbacks = lambda *a, **k: Emit()
sys.argv = ["mlx_lm.lora"] + sys.argv[1:]
L.main()
"""


def run_rvtune(model, data, work, args, index):
    run_dir = work / f"rvtune-{index}"
    # `rvtune run` always prepares its data into RUN_DIR/data; it gets the same prepare
    # options as DIR, and the files are checked to be byte-identical below.
    cmd = [sys.executable, "-m", "rvtune", "run", "--model", str(model)] + PREPARE + [
           "--bits", "0", "--rank", "16", "--alpha", "16", "--dropout", "0",
           "--num-layers", "-1", "--batch-size", "4", "--iters", str(args.iters),
           "--learning-rate", "1e-5", "--no-mask-prompt", "--steps-per-report", "10",
           "--steps-per-eval", "100000", "--val-batches", "1", "--save-every", "100000",
           "--sample-tokens", "0", "--seed", "0", "--run-dir", str(run_dir)]
    tic = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - tic
    if proc.returncode:
        sys.exit(f"rvtune failed:\n{' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    for name in ("train.jsonl", "valid.jsonl"):
        if (run_dir / "data" / name).read_bytes() != (data / name).read_bytes():
            sys.exit(f"rvtune's {run_dir / 'data' / name} differs from {data / name}")
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()
               if line.strip()]
    train = [r for r in records if "tokens_per_second" in r]
    return {"tps": [r["tokens_per_second"] for r in train],
            "mem": [r["peak_memory_gb"] for r in train], "wall": wall, "cmd": cmd}


def run_mlx(model, data, work, args, index):
    adapters = work / f"mlx-{index}"
    config = work / "mlx_lora.yaml"
    config.write_text(json.dumps({"lora_parameters": {
        "rank": 16, "scale": 1.0, "dropout": 0.0, "keys": SEVEN}}))  # JSON is valid YAML
    cli = ["--model", str(model), "--train", "--data", str(data), "-c", str(config),
           "--fine-tune-type", "lora", "--num-layers", "-1", "--batch-size", "4",
           "--iters", str(args.iters), "--learning-rate", "1e-5", "--steps-per-report", "10",
           "--steps-per-eval", "100000", "--val-batches", "1", "--save-every", "100000",
           "--seed", "0", "--adapter-path", str(adapters)]
    cmd = [sys.executable, "-c", MLX_WRAPPER] + cli
    tic = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - tic
    if proc.returncode:
        sys.exit(f"mlx_lm failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    train = [json.loads(line.split(" ", 1)[1]) for line in proc.stdout.splitlines()
             if line.startswith("BENCH_TRAIN ")]
    return {"tps": [r["tokens_per_second"] for r in train],
            "mem": [r["peak_memory"] for r in train], "wall": wall,
            "cmd": [sys.executable, "-m", "mlx_lm", "lora"] + cli}


def summarize(result):
    tps = result["tps"][1:] or result["tps"]  # drop the first window (compilation)
    return statistics.median(tps), max(result["mem"])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iters", type=int, default=200)  # 19 windows after the first
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--work", type=Path, default=None, help="scratch dir (default: a temp dir)")
    args = p.parse_args()

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from rvtune.training.tiny import tiny_model_path
    model = tiny_model_path()

    work = args.work or Path(tempfile.mkdtemp(prefix="rvtune-bench-overhead-"))
    work.mkdir(parents=True, exist_ok=True)
    data = work / "data"
    subprocess.run([sys.executable, "-m", "rvtune", "prepare"] + PREPARE + ["--out", str(data)],
                   check=True, capture_output=True)

    rows = []
    for r in range(1, args.rounds + 1):
        for name, fn in (("mlx-lm", run_mlx), ("rvtune", run_rvtune)):
            res = fn(model, data, work, args, r)
            tps, mem = summarize(res)
            rows.append((r, name, tps, mem, res))
            print(f"# round {r} {name}: {tps:.0f} tok/s, peak {mem:.3f} GB, "
                  f"windows {[round(x) for x in res['tps']]}, wall {res['wall']:.1f}s",
                  file=sys.stderr, flush=True)

    print(f"Trainer overhead, {datetime.date.today()}, {platform.machine()} "
          f"{platform.system()}, {os.cpu_count()} cores, MLX CPU; tiny model {model} "
          f"(float32, unquantized); {args.iters} iters, batch 4, rank 16, median over report "
          "windows 2.. (every 10 steps)\n")
    print("| round | trainer | tokens/s (median) | peak mem (GB) | process wall (s) |")
    print("|---|---|---|---|---|")
    for r, name, tps, mem, res in rows:
        print(f"| {r} | {name} | {tps:.0f} | {mem:.3f} | {res['wall']:.1f} |")
    print()
    print("| round | tokens/s rvtune / mlx-lm | peak mem rvtune / mlx-lm |")
    print("|---|---|---|")
    by = {(r, n): (t, m) for r, n, t, m, _ in rows}
    for r in range(1, args.rounds + 1):
        (tr, mr), (tm, mm) = by[(r, "rvtune")], by[(r, "mlx-lm")]
        print(f"| {r} | {tr / tm:.2f} | {mr / mm:.2f} |")
    print()
    for name in ("mlx-lm", "rvtune"):
        cmd = next(res["cmd"] for _, n, _, _, res in rows if n == name)
        print(f"{name} command: `{' '.join(cmd)}`")


if __name__ == "__main__":
    main()
