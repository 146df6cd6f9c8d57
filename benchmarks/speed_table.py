"""The table of benchmarks/gpu_speed.sh from the files it leaves in OUT.

    python benchmarks/speed_table.py OUT

rvtune rows come from OUT/NAME.metrics.jsonl (median tokens/s and steps/s of the training
reports from the third on, the issue's convention; the largest peak; compiled batch shapes)
and OUT/NAME.log (first-step time, memory estimate, packing decision); the other rows from
OUT/speed.jsonl (one JSON line per script run).
"""

import json
import re
import statistics
import sys
from pathlib import Path


def rvtune_row(out: Path, name: str):
    metrics = out / f"{name}.metrics.jsonl"
    if not metrics.exists():
        return None
    train = [r for r in map(json.loads, metrics.read_text().splitlines())
             if r.get("type") == "train"]
    if not train:
        return None
    later = train[2:] or train
    log = (out / f"{name}.log").read_text(errors="replace")
    first = re.search(r"First step done in ([\d.]+)s", log)
    est = re.search(r"Memory estimate .*?: ([\d.]+) GB", log)
    packing = re.search(r"(Packing rows|Not packing).*?matrix products ([-+\d]+%)", log)
    return {
        "name": name, "tokens_per_s": statistics.median(r["tokens_per_second"] for r in later),
        "steps_per_s": statistics.median(r["iterations_per_second"] for r in later),
        "peak_gb": max(r["peak_memory_gb"] for r in train),
        "shapes": train[-1].get("compiled_shapes"),
        "first_step_s": float(first.group(1)) if first else None,
        "estimate_gb": float(est.group(1)) if est else None,
        "packing": (("on" if packing.group(1) == "Packing rows" else "auto: off")
                    + f", products {packing.group(2)}") if packing else "off (--no-pack)"}


def fmt(value, spec=",.0f"):
    return "-" if value is None else format(value, spec)


def main():
    out = Path(sys.argv[1])
    print((out / "machine.txt").read_text().strip() if (out / "machine.txt").exists() else "")
    print("\n| run | tokens/s | steps/s | peak GB | estimate GB | compiled shapes | "
          "first step s | packing |")
    print("|---|---|---|---|---|---|---|---|")
    order = ["rvtune-b8", "rvtune-b8-pack", "rvtune-b8-fastqmm-on", "rvtune-b64",
             "rvtune-b64-pack"]
    found = sorted(p.name[:-len(".metrics.jsonl")] for p in out.glob("*.metrics.jsonl"))
    cpu_plan = any(n.startswith("rvtune-cpu") for n in found)
    for name in ([] if cpu_plan else order) + [n for n in found if n not in order]:
        row = rvtune_row(out, name)
        if row is None:
            print(f"| {name} | not run | | | | | | |")
            continue
        print(f"| {name} | {fmt(row['tokens_per_s'])} | {fmt(row['steps_per_s'], '.1f')} | "
              f"{fmt(row['peak_gb'], '.2f')} | {fmt(row['estimate_gb'], '.2f')} | "
              f"{fmt(row['shapes'], 'd')} | {fmt(row['first_step_s'], '.1f')} | "
              f"{row['packing']} |")
    path = out / "speed.jsonl"
    others = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    for r in others:
        if r["name"].startswith(("mlx-lm", "peft")):
            print(f"| {r['name']} | {fmt(r.get('tokens_per_s'))} | "
                  f"{fmt(r.get('steps_per_s'), '.1f')} | {fmt(r.get('peak_gb'), '.2f')} | - | - "
                  f"| - | - |")
    profiles = [r for r in others if r["name"].startswith("profile")]
    if profiles:
        print("\n| profile (one rvtune step, ms) | prep | call | eval | item | serial step | "
              "pipelined step | shapes | first compile s |")
        print("|---|---|---|---|---|---|---|---|---|")
        for r in profiles:
            m = r["median_ms"]
            print(f"| {r['name']} | {m.get('prep')} | {m.get('call')} | {m.get('eval')} | "
                  f"{m.get('item')} | {r['step_ms_serial']} | {r['step_ms_pipelined']} | "
                  f"{r['shapes']} | {r['compile_s_first']} |")
    memory = [r for r in others if r["name"].startswith("memory")]
    if memory:
        print("\n| memory point (rows of 128 tokens) | measured peak GB | estimate GB | ratio |")
        print("|---|---|---|---|")
        for r in memory:
            print(f"| {r['name']} | {r['peak_gb']} | {r['estimate_gb']} | "
                  f"{r['estimate_gb'] / max(r['peak_gb'], 1e-9):.2f} |")


if __name__ == "__main__":
    main()
