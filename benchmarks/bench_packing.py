"""Packed against unpacked training: tokens/s and padding of `rvtune run`, interleaved runs.

    python benchmarks/bench_packing.py [--preset tiny] [--rounds 2] [--iters 60] [-- extra flags]

Each round runs `rvtune run --preset PRESET --no-pack` and then `--pack` in fresh processes,
with validation and the sample answer out of the way. Tokens/s is the median of the report
windows after the first (which holds compilation), read from RUN_DIR/metrics.jsonl; both
count the rows' real tokens, so the figures compare directly. The padding figures (token
slots per real token) come from the run's log line about packing.
"""

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path


def run(preset, pack, run_dir, args, extra):
    cmd = [sys.executable, "-m", "rvtune", "run", "--preset", preset,
           "--pack" if pack else "--no-pack", "--iters", str(args.iters),
           "--steps-per-report", str(args.report), "--steps-per-eval", "100000",
           "--val-batches", "1", "--save-every", "100000", "--sample-tokens", "0",
           "--run-dir", str(run_dir)] + extra
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    records = [json.loads(line) for line in
               (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    tps = [r["tokens_per_second"] for r in records if r.get("type") == "train"]
    log = (run_dir / "run.log").read_text()
    found = re.search(r"([\d.]+) token slots per token instead of ([\d.]+)", log)
    return {"tps": statistics.median(tps[1:] or tps), "windows": [round(t) for t in tps],
            "padding": (float(found.group(1)), float(found.group(2))) if found else None,
            "cmd": " ".join(cmd[1:])}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="tiny")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--iters", type=int, default=60)
    p.add_argument("--report", type=int, default=10)
    p.add_argument("--work", type=Path, default=None)
    args, extra = p.parse_known_args()
    extra = [e for e in extra if e != "--"]
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    work = args.work or Path(tempfile.mkdtemp(prefix="rvtune-bench-pack-"))
    rows = []
    for r in range(1, args.rounds + 1):
        for pack in (False, True):
            res = run(args.preset, pack, work / f"{r}-{'pack' if pack else 'nopack'}",
                      args, extra)
            rows.append((r, pack, res))
            print(f"# round {r} pack={pack}: {res['tps']:.0f} tok/s {res['windows']}",
                  file=sys.stderr, flush=True)
    print(f"Packing, {datetime.date.today()}, {platform.machine()} {platform.system()}, "
          f"{os.cpu_count()} cores; preset {args.preset} {' '.join(extra)}; {args.iters} "
          f"iters, median tokens/s over report windows 2..\n")
    print("| round | layout | tokens/s | slots per token |")
    print("|---|---|---|---|")
    packed_pad = {r: res["padding"] for r, pack, res in rows if pack}
    for r, pack, res in rows:
        pad = packed_pad.get(r)  # the packed run's log gives both figures
        slots = "-" if pad is None else f"{pad[0] if pack else pad[1]:.2f}"
        print(f"| {r} | {'packed' if pack else 'padded per batch'} | {res['tps']:.0f} | "
              f"{slots} |")
    print(f"\ncommand: `{rows[-1][2]['cmd']}`")


if __name__ == "__main__":
    main()
