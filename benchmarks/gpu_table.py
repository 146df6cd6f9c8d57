"""Turn the JSON lines of qlora_step.py runs into the markdown tables of docs/benchmarks.md.

    python benchmarks/gpu_table.py gpu.jsonl
"""

import json
import sys


def main(path):
    rows = [json.loads(line) for line in open(path) if line.startswith("{")]
    peak = next((r["matmul_tflops"] for r in rows if "matmul_tflops" in r), None)
    steps = [r for r in rows if "tokens_per_s" in r]
    base = {(r["batch"], r["seq"]): r for r in steps if r["impl"] == "mlx-lm"}
    if peak:
        print(f"measured bf16 matmul (8192^3): {peak} TFLOP/s")
    print("| step | batch x tokens | ckpt | tokens/s | x mlx-lm | peak GB | x mlx-lm | "
          "estimate GB | model TFLOP/s | share of bf16 matmul |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in steps:
        b = base.get((r["batch"], r["seq"]))
        name = r["impl"] if r["impl"] == "mlx-lm" else (
            f"rvtune, fast backward {r['fast_qmm']}"
            + (f", dense forward >= {r['forward_rows']} rows" if r.get("forward_rows") else ""))
        speed = f"{r['tokens_per_s'] / b['tokens_per_s']:.2f}" if b else "-"
        mem = f"{r['peak_gb'] / b['peak_gb']:.2f}" if b else "-"
        share = f"{r['model_tflops'] / peak:.1%}" if peak else "-"
        print(f"| {name} | {r['batch']} x {r['seq']} | {'yes' if r['grad_checkpoint'] else 'no'} "
              f"| {r['tokens_per_s']:,.0f} | {speed} | {r['peak_gb']:.1f} | {mem} | "
              f"{r.get('estimate_gb', '-')} | {r['model_tflops']} | {share} |")
    for r in rows:
        if "forward_ms" in r:
            print(f"breakdown {r['batch']}x{r['seq']} fast={r['fast_qmm']} "
                  f"rows={r['forward_rows']}: forward {r['forward_ms']} ms, "
                  f"forward+backward {r['forward_backward_ms']} ms")
        if "dp" in r:
            print("dp:", json.dumps(r))


if __name__ == "__main__":
    main(sys.argv[1])
