"""Markdown tables from benchmarks/gpu_quality.sh's output: per run, base beside fine-tuned on
the built-in held-out rows and on the hand-written riscv-phrasings set, overall and per
category.   python benchmarks/quality_table.py OUT_DIR RUN [RUN ...]"""

import json
import sys
from pathlib import Path

METRICS = ("exact", "mnemonic_first", "assembles", "operand_form", "exec_match")


def pct(value):
    return "-" if value is None else f"{100 * value:.1f}%"


def load(out: Path, name: str, which: str):
    """The run's eval.json, with ``base_results`` from a separately scored base (the
    generate-only route of gpu_quality.sh) when present."""
    path = out / name / f"eval-{which}" / "eval.json"
    if not path.exists():
        return None
    summary = json.loads(path.read_text())
    base = out / name / f"eval-{which}-base" / "eval.json"
    if base.exists() and not summary.get("base_results"):
        summary["base_results"] = json.loads(base.read_text())["results"]
    return summary


def run_line(out: Path, name: str) -> str:
    summary = out / name / "summary.json"
    if not summary.exists():
        return f"{name}: no summary.json (training failed; see {name}.train.log)"
    s = json.loads(summary.read_text())
    return (f"{name}: {s['steps']} steps in {s['train_seconds']} s, train loss "
            f"{s['train_loss']:.3f}, validation loss {s['val_loss']:.3f}")


def main(out: str, *names: str) -> None:
    out = Path(out)
    for name in names:
        print(run_line(out, name))
    print()
    print("| run | rows | n | " + " | ".join(METRICS) + " |")
    print("|---" * (3 + len(METRICS)) + "|")
    base_done = set()
    for name in names:
        for which in ("heldout", "phrasings"):
            summary = load(out, name, which)
            if summary is None:
                print(f"| {name} | {which} | - | " + " | ".join("-" for _ in METRICS) + " |")
                continue
            if summary.get("base_results") and which not in base_done:
                base = summary["base_results"]["overall"]
                print(f"| base | {which} | {base['examples']} | "
                      + " | ".join(pct(base.get(m)) for m in METRICS) + " |")
                base_done.add(which)
            greedy = out / name / f"eval-{which}-greedy" / "eval.json"
            if greedy.exists():  # checked decoding ran: its greedy answers, scored alone
                res = json.loads(greedy.read_text())["results"]["overall"]
                print(f"| {name} greedy | {which} | {res['examples']} | "
                      + " | ".join(pct(res.get(m)) for m in METRICS) + " |")
            res = summary["results"]["overall"]
            label = f"{name} checked" if greedy.exists() else name
            print(f"| {label} | {which} | {res['examples']} | "
                  + " | ".join(pct(res.get(m)) for m in METRICS) + " |")
    for name in names:
        for which in ("heldout", "phrasings"):
            summary = load(out, name, which)
            if summary is None:
                continue
            print(f"\n{name}, {which}, per category (fine-tuned; base in brackets):\n")
            print("| category | n | " + " | ".join(METRICS) + " |")
            print("|---" * (2 + len(METRICS)) + "|")
            base_cats = (summary.get("base_results") or {}).get("by_category", {})
            for cat, res in sorted(summary["results"]["by_category"].items()):
                base = base_cats.get(cat, {})
                cells = [pct(res.get(m)) + (f" ({pct(base.get(m))})" if base else "")
                         for m in METRICS]
                print(f"| {cat} | {res['examples']} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(*sys.argv[1:])
