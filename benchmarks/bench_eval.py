"""Examples evaluated per second by `rvtune eval` (generation + scoring), batched vs one at a time.

Usage: python benchmarks/bench_eval.py [--run RUN_DIR] [--examples 64] [--batch-sizes 8 32]
                                       [--max-tokens 64] [--trials 16]

Without --run, a tiny run is trained first (`rvtune run --preset tiny`, 20 steps) into a
temporary directory. The model is loaded once and not timed. Then, on the same prompts:

- batched: one `generate_batch` call at each --batch-sizes value (mlx-lm continuous
  batching), then one evaluator call scoring every prediction (one assembler start);
- one at a time: per example, generate alone (batch of one), then score alone — what a
  naive eval loop does.

Both give the same predictions (greedy decoding; checked). Prints a Markdown table with the
date, the machine and the command.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path


def make_run(where: Path) -> Path:
    run_dir = where / "tiny"
    subprocess.run([sys.executable, "-m", "rvtune", "run", "--preset", "tiny", "--iters", "20",
                    "--dataset-size", "1000", "--test-fraction", "0.1", "--sample-tokens", "0",
                    "--run-dir", str(run_dir)], check=True, capture_output=True, text=True)
    return run_dir


def machine() -> str:
    cores = os.cpu_count()
    try:
        import mlx.core as mx

        device = str(mx.default_device())
    except Exception:  # pragma: no cover - report what we can
        device = "?"
    return f"{platform.machine()}, {cores} cores, {platform.system()}, MLX {device}"


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> None:
    """Run both ways and print examples/s for generation, scoring and the two together."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=None)
    parser.add_argument("--examples", type=int, default=64)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--trials", type=int, default=16)
    args = parser.parse_args()

    from rvtune.evaluation.examples import held_out_split, read_dataset, read_prepared
    from rvtune.evaluation.generate import generate_batch
    from rvtune.evaluation.scoring import make_evaluator
    from rvtune.export.loading import read_run
    from rvtune.inference import load_loaded, prompt_format

    with tempfile.TemporaryDirectory() as tmp:
        run_dir = args.run or make_run(Path(tmp))
        run = read_run(run_dir)
        examples = read_prepared(held_out_split(run.path), args.examples)
        if len(examples) < args.examples:  # a small split: top up from the built-in data
            from rvtune.core.datasets import DatasetSpec

            extra = read_dataset(DatasetSpec("riscv", size=args.examples, seed=1),
                                 args.examples - len(examples))
            examples += extra
        loaded = load_loaded(run=run)
        fmt = prompt_format(run=run)
    model, tokenizer = loaded.model, loaded.tokenizer
    prompts = [fmt.render(e.prompt) for e in examples]
    refs = [e.reference for e in examples]
    evaluator = make_evaluator("riscv", trials=args.trials, seed=0)

    def generate(batch, batch_size):
        return generate_batch(model, tokenizer, batch, batch_size=batch_size,
                              max_tokens=args.max_tokens, stop_strings=fmt.stop_strings,
                              has_bos=fmt.has_bos)

    generate(prompts[:2], 2)  # warm up MLX and the assembler
    evaluator.score(refs[:2], refs[:2])

    n = len(examples)
    rows = []
    single_preds, single_gen = _timed(lambda: [generate([p], 1)[0] for p in prompts])
    single_scores, single_score = _timed(
        lambda: [s for r, p in zip(refs, single_preds) for s in evaluator.score([r], [p])])
    rows.append(("one at a time", single_gen, single_score))
    for size in args.batch_sizes:
        preds, gen = _timed(lambda: generate(prompts, size))
        assert preds == single_preds, f"batch size {size}: predictions differ from one-by-one"
        scores, score = _timed(lambda: evaluator.score(refs, preds))
        assert scores == single_scores, "batched and one-by-one scores differ"
        rows.append((f"batched, batch size {size}", gen, score))

    tokens = sum(len(tokenizer.encode(p, add_special_tokens=False)) for p in single_preds)
    command = "python benchmarks/bench_eval.py " + " ".join(sys.argv[1:])
    print(f"`{command.strip()}` — {date.today().isoformat()}, {machine()}, "
          f"Python {platform.python_version()}")
    print(f"\n{n} examples of {run.path.name} (tiny preset), up to {args.max_tokens} new "
          f"tokens each ({tokens} generated in all), riscv evaluator with {args.trials} "
          "trials.\n")
    print("| mode | generation (ex/s) | scoring (ex/s) | evaluated (ex/s) | total (s) |")
    print("|---|---:|---:|---:|---:|")
    for label, gen, score in rows:
        print(f"| {label} | {n / gen:.1f} | {n / score:.1f} | {n / (gen + score):.1f} | "
              f"{gen + score:.2f} |")


if __name__ == "__main__":
    main()
