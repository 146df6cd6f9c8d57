"""The files an evaluation leaves: ``eval.jsonl``, ``eval.json`` and ``report.md``."""

import json
from pathlib import Path

from rvtune.core.atomic import atomic_open, write_json

#: How many failing examples the report quotes.
SHOWN_FAILURES = 5


def write_rows(target: Path, rows: list[dict]) -> Path:
    """Write one JSON object per example, atomically."""
    with atomic_open(target, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return target


def write_summary(target: Path, summary: dict) -> Path:
    """Write ``eval.json`` atomically."""
    write_json(target, summary)
    return target


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _delta(value) -> str:
    return "–" if value is None else f"{100 * value:+.1f} pts"


def _cell(summary: dict, metric: str) -> str:
    text = _pct(summary.get(metric))
    decided = summary.get(f"{metric}_decided", summary.get("exec_decided")
                          if metric == "exec_match" else None)
    if decided and decided != summary["examples"]:
        text += f" (of {decided})"
    return text


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _quote(text: str, limit: int = 400) -> str:
    text = text if len(text) <= limit else text[:limit] + " …"
    return "\n".join("    " + line for line in (text or "(empty)").splitlines() or ["(empty)"])


def _cause_counts(summary: dict) -> dict[str, dict[str, int]]:
    """``{metric: {cause: count}}`` from the ``<metric>_undecidable_causes`` keys."""
    found = {}
    for key, value in summary.items():
        if key.endswith("_undecidable_causes") and isinstance(value, dict) and value:
            metric = key[: -len("_undecidable_causes")]
            found["exec_match" if metric == "exec" else metric] = value
    return found


def _causes(results: dict, base_results: dict | None) -> list[str]:
    overall = _cause_counts(results["overall"])
    if not overall:
        return []
    base = _cause_counts((base_results or {}).get("overall", {}))
    by_category = results.get("by_category") or {}
    lines = ["", "## Undecidable, by cause", "",
             "Examples left out of a metric's rate, and why (fine-tuned model"
             + (", base model beside it)." if base_results else ")."), ""]
    header = ["metric", "cause", "examples", *(["base"] if base_results else []), "categories"]
    rows = []
    for metric, causes in overall.items():
        for cause, count in causes.items():
            where = []
            for name, summary in by_category.items():
                n = _cause_counts(summary).get(metric, {}).get(cause)
                if n:
                    where.append(f"{name} {n}")
            extra = [str(base.get(metric, {}).get(cause, 0))] if base_results else []
            rows.append([metric, cause, str(count), *extra, ", ".join(where)])
    return lines + _table(header, rows)


def _failures(rows: list[dict], metrics: list[str]) -> list[dict]:
    last = metrics[-1] if metrics else None
    failing = [r for r in rows if last and r.get(last) is False]
    return failing[:SHOWN_FAILURES]


def render_report(summary: dict, rows: list[dict]) -> str:
    """The Markdown report: what ran, overall rates, comparison, per category (base beside
    fine-tuned), undecidable examples by cause, failures."""
    metrics = summary["metrics"]
    results = summary["results"]
    lines = [f"# Evaluation: {summary['title']}", ""]
    about = [("evaluator", summary["evaluator"]), ("examples", str(summary["examples"])),
             ("data", summary["data"])]
    for key in ("run", "model", "adapter", "predictions"):
        if summary.get(key):
            about.append((key, str(summary[key])))
    settings = summary.get("settings") or {}
    if settings:
        about.append(("settings", ", ".join(f"{k}={v}" for k, v in settings.items())))
    about.append(("created", summary["created"]))
    lines += [f"- **{key}**: {value}" for key, value in about]
    lines += ["", "Metrics are explained in the rvtune docs (docs/metrics.md, docs/eval.md). "
              "A rate marked *(of N)* counts only the N examples where the metric could be "
              "decided; `–` means none could.", ""]

    lines += ["## Overall", ""]
    lines += _table(["metric", "rate"], [[m, _cell(results["overall"], m)] for m in metrics])
    undecidable = {m: results["overall"].get(f"{m}_undecidable",
                                              results["overall"].get("exec_undecidable")
                                              if m == "exec_match" else None)
                   for m in metrics}
    notes = [f"{n} undecidable for {m}" for m, n in undecidable.items() if n]
    if notes:
        lines += ["", "Not counted: " + "; ".join(notes) + "."]

    comparison = summary.get("comparison")
    if comparison:
        lines += ["", "## Base model vs fine-tuned", "",
                  "Same prompts, same generation settings; the base model has no adapter.", ""]
        lines += _table(["metric", "base", "fine-tuned", "change"],
                        [[m, _pct(c["base"]), _pct(c["fine_tuned"]), _delta(c["delta"])]
                         for m, c in comparison["overall"].items()])

    by_category = results.get("by_category") or {}
    if by_category:
        base_by = (summary.get("base_results") or {}).get("by_category") or {}
        lines += ["", "## By category", "",
                  "The row's `category`, or else the extension of the reference's first "
                  "instruction."]
        if base_by:
            lines += ["Each cell: base → fine-tuned.", ""]
            lines += _table(["category", "examples", *metrics],
                            [[c, str(s["examples"]),
                              *(f"{_cell(base_by.get(c, {'examples': 0}), m)} → {_cell(s, m)}"
                                for m in metrics)]
                             for c, s in by_category.items()])
        else:
            lines += [""]
            lines += _table(["category", "examples", *metrics],
                            [[c, str(s["examples"]), *(_cell(s, m) for m in metrics)]
                             for c, s in by_category.items()])
        if comparison and comparison.get("by_category"):
            lines += ["", "Change from base to fine-tuned, by category:", ""]
            lines += _table(["category", *metrics],
                            [[c, *(_delta(t[m]["delta"]) for m in metrics)]
                             for c, t in comparison["by_category"].items()])
    lines += _causes(results, summary.get("base_results"))

    if summary.get("chart"):
        lines += ["", "## Chart", "", f"![metrics per category]({summary['chart']})"]

    failures = _failures(rows, metrics)
    if failures:
        lines += ["", f"## First failures ({metrics[-1]} false)", ""]
        for row in failures:
            lines += [f"### {row.get('where', '')} ({row.get('category', '')})", ""]
            if row.get("prompt"):
                lines += [f"Prompt: {row['prompt'][:300]}", ""]
            lines += ["Reference:", "", _quote(row["reference"]), "", "Prediction:", "",
                      _quote(row["prediction"]), ""]
            if row.get("message"):
                lines += [f"Why: {row['message'].splitlines()[0][:300]}", ""]
            verdicts = [f"{m} {'yes' if row.get(m) else 'no'}" for m in metrics[:-1]
                        if isinstance(row.get(m), bool)]
            if verdicts:
                lines += ["Metrics: " + ", ".join(verdicts), ""]
    return "\n".join(lines).rstrip() + "\n"


def write_report(target: Path, summary: dict, rows: list[dict]) -> Path:
    """Write ``report.md`` atomically."""
    with atomic_open(target, "w", encoding="utf-8") as fh:
        fh.write(render_report(summary, rows))
    return target
