"""Snippets validated per second: batched vs one assembler process per snippet.

    python benchmarks/bench_validator.py --rows 10000 --single 200
    python benchmarks/bench_validator.py --rows 10000 --single 200 --invalid 0.5

``--invalid 0.5`` breaks every second generated row in one of several ways (a dropped comma,
an unknown mnemonic, an out-of-range immediate, a missing operand, a pseudo-code line), the
mix a real dataset gives. ``--targets FILE`` validates a file's snippets instead (a JSON list
of strings or JSONL with an ``instructions`` field).
"""

import argparse
import json
import random
import time

from rvtune.riscv.generate import generate_rows
from rvtune.riscv.validate import Validator

BREAKS = (
    lambda s: s.replace(",", "", 1),
    lambda s: s.replace(" ", "x ", 1),
    lambda s: s + "\naddi a0, a0, 5000",
    lambda s: s.rsplit(",", 1)[0] if "," in s else s + " a0, a1",
    lambda s: "x[rd] = x[rs1] + x[rs2]\n" + s,
)


def snippets_for(args) -> list[str]:
    """The benchmark's input: generated rows, a fraction of them broken, or a file's."""
    if args.targets:
        with open(args.targets, encoding="utf-8") as fh:
            text = fh.read()
        if text.lstrip().startswith("["):
            return json.loads(text)
        return [json.loads(line)["instructions"] for line in text.splitlines() if line.strip()]
    rows = [r["instructions"] for r in generate_rows(args.rows, args.seed)]
    rng = random.Random(args.seed)
    step = round(1 / args.invalid) if args.invalid else 0
    return [BREAKS[rng.randrange(len(BREAKS))](s) if step and i % step == 0 else s
            for i, s in enumerate(rows)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000, help="generated rows to validate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--invalid", type=float, default=0.0,
                        help="fraction of generated rows to break (0.5: every second one)")
    parser.add_argument("--targets", default=None, help="validate this file's snippets instead")
    parser.add_argument("--single", type=int, default=300,
                        help="rows to time one-by-one (it is slow; rate is per snippet)")
    parser.add_argument("--backend", default=None, help="llvm-mc, gnu-as, zig or a path")
    args = parser.parse_args()

    snippets = snippets_for(args)
    v = Validator(backend=args.backend)
    print(f"backend: {v.backend_name} {v.backend_version}, jobs={v.jobs}, rows={len(snippets)}")

    start = time.perf_counter()
    batched = v.check_many(snippets)
    elapsed = time.perf_counter() - start
    valid = sum(r.valid for r in batched)
    print(f"batched:    {len(snippets)} snippets in {elapsed:.2f}s = "
          f"{len(snippets) / elapsed:,.0f} snippets/s ({valid} valid, "
          f"{len(snippets) - valid} invalid)")

    step = max(1, len(snippets) // args.single) if args.single else 1
    subset = list(range(0, len(snippets), step))[:args.single]
    start = time.perf_counter()
    alone = [v.check(snippets[i]) for i in subset]
    elapsed = time.perf_counter() - start
    print(f"one-by-one: {len(subset)} snippets in {elapsed:.2f}s = "
          f"{len(subset) / max(elapsed, 1e-9):,.0f} snippets/s")
    key = lambda r: (r.valid, r.message, r.encoding, r.relocations, r.xlen)  # noqa: E731
    same = all(key(a) == key(batched[i]) for a, i in zip(alone, subset))
    print(f"verdicts, messages, encodings identical on the one-by-one subset: {same}")


if __name__ == "__main__":
    main()
