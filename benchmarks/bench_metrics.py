"""Examples scored per second by rvtune.riscv.metrics.score_pairs, batched vs one at a time.

Usage: python benchmarks/bench_metrics.py [--pairs 200] [--trials 16]

Batched: one score_pairs call on all pairs (one Validator.check_many for every text).
One at a time: one score_pairs call per pair, as a naive eval loop would do.
"""

from __future__ import annotations

import argparse
import time

from rvtune.riscv.metrics import score_pairs
from rvtune.riscv.validate import Validator

TEMPLATES = (
    ("addi a0, a0, {n}", "addi a0,a0,{n}"),
    ("add a0, a1, a2", "add a0, a2, a1"),
    ("slli a0, a1, 1", "add a0, a1, a1"),
    ("lw a0, {m}(a1)", "lwu a0, {m}(a1)"),
    ("div a0, a1, a2", "divu a0, a1, a2"),
    ("mv a0, a1", "addi a0, a1, 0"),
    ("fadd.d fa0, fa1, fa2", "fadd.d fa0, fa2, fa1"),
    ("li a0, {n}\n1:\naddi a0, a0, -1\nbnez a0, 1b",) * 2,
    ("sd a0, {m}(sp)\nsd a1, 8(sp)", "sd a1, 8(sp)\nsd a0, {m}(sp)"),
    ("vadd.vv v1, v2, v3", "vadd.vv v1, v3, v2"),
    ("add a0, a1, a2", "add a0, a1, q{n}"),
)


def make_pairs(count: int) -> tuple[list[str], list[str]]:
    """``count`` (reference, prediction) pairs cycling through TEMPLATES with varied numbers."""
    refs, preds = [], []
    for index in range(count):
        ref, pred = TEMPLATES[index % len(TEMPLATES)]
        values = {"n": 1 + index % 50, "m": 8 * (index % 32)}
        refs.append(ref.format(**values))
        preds.append(pred.format(**values))
    return refs, preds


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    """Print examples/s for both ways of calling score_pairs (wall clock and this process's CPU).

    The assembler runs in child processes, so its time shows in the wall clock only.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--trials", type=int, default=16)
    args = parser.parse_args()
    refs, preds = make_pairs(args.pairs)
    validator = Validator()
    score_pairs(refs[:2], preds[:2], validator=validator, trials=args.trials)  # warm up

    batched, batched_wall, batched_cpu = _timed(
        lambda: score_pairs(refs, preds, validator=validator, trials=args.trials)
    )
    single, single_wall, single_cpu = _timed(
        lambda: [
            score
            for ref, pred in zip(refs, preds)
            for score in score_pairs([ref], [pred], validator=validator, trials=args.trials)
        ]
    )
    assert batched == single, "batched and one-at-a-time scores differ"
    _, asm_wall, _ = _timed(lambda: score_pairs(refs, preds, validator=validator, trials=0))

    n = args.pairs
    print(f"{n} pairs, {args.trials} trials each")
    print(f"batched      : {n / batched_wall:8.1f} examples/s wall ({batched_wall:.2f} s), "
          f"{n / batched_cpu:8.1f} per CPU-second")
    print(f"one at a time: {n / single_wall:8.1f} examples/s wall ({single_wall:.2f} s), "
          f"{n / single_cpu:8.1f} per CPU-second")
    print(f"batched, trials=0 (assembler only): {n / asm_wall:8.1f} examples/s wall")


if __name__ == "__main__":
    main()
