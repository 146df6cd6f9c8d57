"""Data-parallel training speed: tokens per second of `rvtune run` on 1 and N processes.

Builds (once) a local random-weight model directory of a real shape (default: Mistral-7B,
stored 4-bit as the reference recipe trains it) with the tiny preset's tokenizer, then
runs the real CLI, `rvtune run --nproc N`, on the built-in RISC-V data for each N and reads
`tokens_per_second` from each run's metrics.jsonl (tokens of the batches, padding
excluded, over all processes, per second of step time; the first report, which holds
the compilation, is left out).

    python benchmarks/dp_run.py --nproc 1 2                  # 7B-shaped, same global batch
    python benchmarks/dp_run.py --nproc 1 2 --weak           # batch-size per process
    python benchmarks/dp_run.py --shape mistral-tiny --nproc 1 2 --iters 12 --batch-size 8

Prints each run's output, then one table and a JSON line per run.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import models  # noqa: E402  (benchmarks/models.py: the shapes)


def build_model(shape: str, out: Path, bits: int, group_size: int) -> Path:
    """A Mistral-architecture model of ``shape`` with random weights, saved quantized."""
    if (out / "config.json").exists():
        return out
    import mlx.core as mx
    import mlx.nn as nn
    from mlx.utils import tree_flatten
    from mlx_lm.models import llama

    from rvtune.training.tiny import tiny_model_path

    tic = time.perf_counter()
    work = out.with_name(out.name + ".tmp")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    tiny = tiny_model_path()
    for name in os.listdir(tiny):
        if name.startswith("tokenizer") or name == "special_tokens_map.json":
            shutil.copy(tiny / name, work / name)
    tok = json.loads((tiny / "config.json").read_text())
    config = {**models.config(shape), "bos_token_id": tok["bos_token_id"],
              "eos_token_id": tok["eos_token_id"]}
    mx.random.seed(0)
    model = llama.Model(llama.ModelArgs.from_dict(config))
    model.set_dtype(mx.bfloat16)
    if bits:
        nn.quantize(model, group_size=group_size, bits=bits)
        config["quantization"] = {"group_size": group_size, "bits": bits}
    weights = dict(tree_flatten(model.parameters()))
    mx.eval(weights)
    mx.save_safetensors(str(work / "model.safetensors"), weights, metadata={"format": "mlx"})
    (work / "config.json").write_text(json.dumps(config, indent=2))
    os.replace(work, out)
    print(f"built {shape} ({bits}-bit) into {out} in {time.perf_counter() - tic:.0f}s",
          flush=True)
    return out


def run(model: Path, nproc: int, args, run_dir: Path) -> dict:
    batch = args.batch_size * (nproc if args.weak else 1)
    command = [sys.executable, "-m", "rvtune", "run", "--model", str(model),
               "--dataset", "riscv", "--dataset-size", str(args.dataset_size),
               "--batch-size", str(batch), "--iters", str(args.iters),
               "--steps-per-report", str(args.steps_per_report),
               "--steps-per-eval", str(10 * args.iters), "--val-batches", "1",
               "--save-every", str(10 * args.iters), "--sample-tokens", "0",
               "--max-seq-length", str(args.max_seq_length), "--force",
               "--run-dir", str(run_dir), "--nproc", str(nproc)]
    if args.backend:
        command += ["--backend", args.backend]
    shutil.rmtree(run_dir, ignore_errors=True)
    print("$", " ".join(command), flush=True)
    tic = time.perf_counter()
    code = subprocess.call(command)
    wall = time.perf_counter() - tic
    if code:
        raise SystemExit(f"rvtune run --nproc {nproc} failed with exit code {code}")
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    train = [r for r in records if r.get("type") == "train"][1:]
    if not train:
        raise SystemExit("too few reports: raise --iters or lower --steps-per-report")
    return {"nproc": nproc, "global_batch": batch, "shape": args.shape,
            "tokens_per_second": statistics.median(r["tokens_per_second"] for r in train),
            "iterations_per_second": statistics.median(r["iterations_per_second"]
                                                       for r in train),
            "peak_memory_gb_rank0": max(r["peak_memory_gb"] for r in train),
            "final_loss": train[-1]["loss"], "wall_seconds": round(wall, 1),
            "run_dir": str(run_dir)}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shape", default="mistral-7b", choices=sorted(models.SHAPES))
    p.add_argument("--nproc", type=int, nargs="+", default=[1, 2])
    p.add_argument("--batch-size", type=int, default=8,
                   help="Global batch (all processes); per process with --weak.")
    p.add_argument("--weak", action="store_true",
                   help="Keep the rows per process fixed: global batch = batch-size x N.")
    p.add_argument("--iters", type=int, default=40)
    p.add_argument("--steps-per-report", type=int, default=5)
    p.add_argument("--dataset-size", type=int, default=2000)
    p.add_argument("--max-seq-length", type=int, default=512)
    p.add_argument("--bits", type=int, default=4)
    p.add_argument("--group-size", type=int, default=64)
    p.add_argument("--backend", default=None, help="Passed to rvtune run --backend.")
    p.add_argument("--work", default="/tmp/rvtune-dp", help="Model and run directories.")
    args = p.parse_args()

    work = Path(args.work)
    model = build_model(args.shape, work / f"{args.shape}-{args.bits}bit", args.bits,
                        args.group_size)
    results = [run(model, n, args, work / f"run-{args.shape}-n{n}") for n in args.nproc]
    base = results[0]["tokens_per_second"]
    print(f"\n{'processes':>9} {'global batch':>12} {'tokens/s':>10} {'speed-up':>8} "
          f"{'peak GB (rank 0)':>16} {'final loss':>10}")
    for r in results:
        print(f"{r['nproc']:>9} {r['global_batch']:>12} {r['tokens_per_second']:>10.0f} "
              f"{r['tokens_per_second'] / base:>8.2f} {r['peak_memory_gb_rank0']:>16.2f} "
              f"{r['final_loss']:>10.4f}")
    for r in results:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
