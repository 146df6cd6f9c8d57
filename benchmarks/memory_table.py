"""The table of benchmarks/gpu_memory.sh: rvtune, transformers + PEFT + bitsandbytes and plain
mlx-lm side by side, with issue 15's targets checked.

    python benchmarks/memory_table.py OUT/memory.jsonl

Each line of the file is the last stdout line of one qlora_step.py / peft_qlora_step.py /
mlx_memory_probes.py run, with ``name`` added by the script.
"""

import json
import sys

TARGETS = [  # (run, check, text)
    ("rvtune-4x256", lambda r, m, p: r["peak_gb"] <= 22.0, "peak <= 22 GB"),
    ("rvtune-4x256", lambda r, m, p: m and r["tokens_per_s"] >= 2.5 * m["tokens_per_s"],
     ">= 2.5x mlx-lm tokens/s"),
    ("rvtune-4x256-ckpt", lambda r, m, p: r["peak_gb"] <= 8.0, "peak <= 8 GB"),
    ("rvtune-4x256", lambda r, m, p: p and r["tokens_per_s"] >= 2 * p["tokens_per_s"],
     ">= 2x PEFT+bnb tokens/s"),
    ("rvtune-4x256", lambda r, m, p: p and r["peak_gb"] <= 1.5 * p["peak_gb"],
     "<= 1.5x PEFT+bnb peak"),
    ("rvtune-16x256", lambda r, m, p: p and r["tokens_per_s"] >= 2 * p["tokens_per_s"],
     ">= 2x PEFT+bnb tokens/s"),
    ("rvtune-16x256", lambda r, m, p: p and r["peak_gb"] <= 1.5 * p["peak_gb"],
     "<= 1.5x PEFT+bnb peak"),
]


def main(path):
    rows = [json.loads(line) for line in open(path) if line.startswith("{")]
    steps = [r for r in rows if "tokens_per_s" in r]
    by_name = {r["name"]: r for r in steps}

    def ref(impl, r):
        return next((x for x in steps if x["impl"].startswith(impl) and x["batch"] == r["batch"]
                     and x["seq"] == r["seq"]
                     and (impl == "mlx-lm" or x["grad_checkpoint"] == r["grad_checkpoint"])),
                    None)

    print("| run | batch x tokens | ckpt | tokens/s | x mlx-lm | x PEFT+bnb | peak GB | "
          "x PEFT+bnb | reserved GB | estimate GB | estimate / peak |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in steps:
        m, p = ref("mlx-lm", r), ref("peft+bnb", r)
        speed_m = f"{r['tokens_per_s'] / m['tokens_per_s']:.2f}" if m else "-"
        speed_p = f"{r['tokens_per_s'] / p['tokens_per_s']:.2f}" if p else "-"
        peak = r.get("peak_gb")
        mem_p = f"{peak / p['peak_gb']:.2f}" if p and peak and p.get("peak_gb") else "-"
        est = r.get("estimate_gb")
        ratio = f"{est / peak:.2f}" if est and peak else "-"
        print(f"| {r['name']} | {r['batch']} x {r['seq']} | "
              f"{'yes' if r['grad_checkpoint'] else 'no'} | {r['tokens_per_s']:,.0f} | "
              f"{speed_m} | {speed_p} | {peak if peak is not None else '-'} | {mem_p} | "
              f"{r.get('reserved_gb') or '-'} | {est or '-'} | {ratio} |")
    print()
    for name, check, text in TARGETS:
        r = by_name.get(name)
        if r is None:
            print(f"- {name}: {text}: not measured")
            continue
        m = by_name.get(name.replace("rvtune", "mlx-lm").replace("-ckpt", ""))
        p = by_name.get(name.replace("rvtune", "peft"))
        ok = check(r, m, p)
        print(f"- {name}: {text}: {'met' if ok else ('not met' if ok is False else 'no reference')}")
    for r in rows:
        if r.get("probe"):
            print(f"- probe {r['probe']}: {json.dumps({k: v for k, v in r.items() if k not in ('probe', 'name')})}")


if __name__ == "__main__":
    main(sys.argv[1])
