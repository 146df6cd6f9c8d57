"""Data preparation: rows per second and peak memory for 10k, 100k and 1M rows.

    python benchmarks/bench_prepare.py --rows 10000 100000 1000000

Each size runs `rvtune prepare` in a fresh process on a jsonl file of that many unique
rows in the layout of the reference dataset (written once, outside the timing), and reads
the process's peak resident memory (ru_maxrss). Linear time shows as a flat rows/s column;
flat memory as a peak that barely moves with the row count.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def write_rows(path: Path, n: int) -> None:
    regs = ["a0", "a1", "a2", "t0", "t1", "s1", "s2", "x5"]
    with open(path, "w") as fh:
        for i in range(n):
            rd, rs = regs[i % 8], regs[(i // 8) % 8]
            fh.write(json.dumps({
                "description": f"Add the immediate {i % 2048} to {rs} and write {rd} (row {i}).",
                "instructions": f"addi {rd}, {rs}, {i % 2048}"}) + "\n")


def run_once(src: Path, out: Path) -> tuple[float, float]:
    cmd = [sys.executable, "-m", "rvtune", "prepare", "--dataset", str(src), "--out", str(out),
           "--formatter", "chatml", "--overwrite"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    tic = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    elapsed = time.perf_counter() - tic
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak_kb, before) / 1024


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    args = p.parse_args()
    print("| rows | seconds | rows/s | peak RSS (MB) |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sorted(args.rows):  # ru_maxrss of children only grows: smallest first
            src = Path(tmp) / f"rows-{n}.jsonl"
            write_rows(src, n)
            elapsed, peak = run_once(src, Path(tmp) / f"out-{n}")
            print(f"| {n:,} | {elapsed:.1f} | {n / elapsed:,.0f} | {peak:.0f} |", flush=True)
            os.unlink(src)


if __name__ == "__main__":
    main()
