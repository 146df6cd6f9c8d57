"""The memory estimate against measured peak memory, over several configurations.

    python benchmarks/bench_memory.py                 # CPU-sized configurations
    python benchmarks/bench_memory.py --shape mistral-7b --configs 4x256 16x256 4x256c

Each configuration (BATCHxSEQ, a trailing 'c' = gradient checkpointing) runs
`qlora_step.py --impl rvtune` in a fresh process, which trains a random-weight model of the
shape (4-bit, rank 16 on all seven projections) and reports MLX's peak memory beside
rvtune's estimate for the same settings (`rvtune.training.memory.estimate`).
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shape", default="mistral-110m")
    p.add_argument("--configs", nargs="+", default=["1x64", "4x64", "4x256", "8x256", "8x256c"])
    p.add_argument("--steps", type=int, default=3)
    args = p.parse_args()
    print("| shape | batch x seq | checkpointing | estimate (GB) | measured peak (GB) | estimate / measured |")
    print("|---|---|---|---|---|---|")
    for item in args.configs:
        ckpt = item.endswith("c")
        batch, seq = item.rstrip("c").split("x")
        cmd = [sys.executable, str(HERE / "qlora_step.py"), "--impl", "rvtune",
               "--shape", args.shape, "--batch", batch, "--seq", seq,
               "--steps", str(args.steps), "--warmup", "1"]
        if ckpt:
            cmd.append("--grad-checkpoint")
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"| {args.shape} | {batch} x {seq} | {'yes' if ckpt else 'no'} | "
              f"{r['estimate_gb']:.2f} | {r['peak_gb']:.2f} | "
              f"{r['estimate_gb'] / r['peak_gb']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
