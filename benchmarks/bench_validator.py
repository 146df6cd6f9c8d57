"""Snippets validated per second: batched vs one assembler process per snippet.

    python benchmarks/bench_validator.py --rows 3000
"""

import argparse
import time

from rvtune.riscv.generate import generate_rows
from rvtune.riscv.validate import Validator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000, help="generated rows to validate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--single", type=int, default=300,
                        help="rows to time one-by-one (it is slow; rate is per snippet)")
    parser.add_argument("--backend", default=None, help="llvm-mc, gnu-as, zig or a path")
    args = parser.parse_args()

    snippets = [r["instructions"] for r in generate_rows(args.rows, args.seed)]
    v = Validator(backend=args.backend)
    print(f"backend: {v.backend_name} {v.backend_version}, jobs={v.jobs}, rows={len(snippets)}")

    start = time.perf_counter()
    batched = v.check_many(snippets)
    elapsed = time.perf_counter() - start
    valid = sum(r.valid for r in batched)
    print(f"batched:    {len(snippets)} snippets in {elapsed:.2f}s = "
          f"{len(snippets) / elapsed:,.0f} snippets/s ({valid} valid)")

    subset = snippets[:args.single]
    start = time.perf_counter()
    alone = [v.check(s) for s in subset]
    elapsed = time.perf_counter() - start
    print(f"one-by-one: {len(subset)} snippets in {elapsed:.2f}s = "
          f"{len(subset) / elapsed:,.0f} snippets/s")
    same = all(a.valid == b.valid for a, b in zip(alone, batched))
    print(f"verdicts identical on the one-by-one subset: {same}")


if __name__ == "__main__":
    main()
