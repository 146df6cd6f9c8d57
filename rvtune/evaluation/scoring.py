"""Evaluator plugins in use: choose one, score, aggregate, compare two models.

An evaluator (hook ``register_evaluators``) needs only ``name``, a docstring and
``score(references, predictions) -> list[dict]``. Everything else is optional:

- ``metrics``: the names of the metrics, in report order (default: the keys of the first
  score whose values are booleans or None);
- ``aggregate(scores, categories)``: the ``{"overall", "by_category"}`` report (default:
  :func:`generic_aggregate`);
- constructor keywords ``trials`` and ``seed``: passed when the constructor accepts them;
- ``categorize(reference) -> str``: the category of an example whose row has none (the
  ``riscv`` evaluator infers the extension from the reference's first mnemonic).
"""

import inspect

from rvtune.core.errors import RvtuneError, UsageError


def make_evaluator(name: str, **options):
    """An instance of the evaluator ``name``, given the ``options`` its constructor accepts."""
    from rvtune.core.plugins import registry

    cls = registry().get("evaluator", name, option="--evaluator")
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        params = {}
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    accepted = {k: v for k, v in options.items() if takes_any or k in params}
    return cls(**accepted)


def score(evaluator, references: list[str], predictions: list[str]) -> list[dict]:
    """``evaluator.score``, checked: one dict per prediction."""
    scores = evaluator.score(list(references), list(predictions))
    if not isinstance(scores, list) or len(scores) != len(predictions) or not all(
        isinstance(s, dict) for s in scores
    ):
        got = f"{len(scores)} items" if isinstance(scores, list) else type(scores).__name__
        raise RvtuneError(
            f"evaluator '{evaluator.name}' returned {got} for {len(predictions)} predictions; "
            "its score() must return one dict per prediction (fix or update the plugin)"
        )
    return scores


def categories(evaluator, examples) -> list[str]:
    """Each example's category: its row's, else the evaluator's ``categorize(reference)``."""
    from .examples import NO_CATEGORY

    infer = getattr(evaluator, "categorize", None)
    result = []
    for example in examples:
        category = example.category
        if category == NO_CATEGORY and infer is not None:
            category = str(infer(example.reference) or NO_CATEGORY)
        result.append(category)
    return result


def metric_names(evaluator, scores: list[dict]) -> list[str]:
    """The evaluator's metrics: its ``metrics`` attribute, else the boolean keys it returned."""
    declared = getattr(evaluator, "metrics", None)
    if declared:
        return list(declared)
    if not scores:
        return []
    return [k for k, v in scores[0].items()
            if isinstance(v, bool) or (v is None and k != "message")]


def _summary(scores: list[dict], metrics: list[str]) -> dict:
    summary = {"examples": len(scores)}
    for metric in metrics:
        values = [s.get(metric) for s in scores]
        decided = [bool(v) for v in values if v is not None]
        summary[metric] = sum(decided) / len(decided) if decided else None
        if len(decided) != len(values):
            summary[f"{metric}_decided"] = len(decided)
            summary[f"{metric}_undecidable"] = len(values) - len(decided)
    return summary


def generic_aggregate(scores: list[dict], categories, metrics: list[str]) -> dict:
    """Rates per metric over the examples where it is not None, overall and per category."""
    report = {"overall": _summary(scores, metrics)}
    if categories is not None:
        groups: dict = {}
        for s, category in zip(scores, categories):
            groups.setdefault(str(category), []).append(s)
        report["by_category"] = {c: _summary(g, metrics) for c, g in sorted(groups.items())}
    return report


def aggregate(evaluator, scores: list[dict], categories, metrics: list[str]) -> dict:
    """The evaluator's own ``aggregate`` if it has one, else :func:`generic_aggregate`."""
    own = getattr(evaluator, "aggregate", None)
    if own is not None:
        return own(scores, categories)
    return generic_aggregate(scores, categories, metrics)


def _delta(base, tuned):
    if base is None or tuned is None:
        return None
    return tuned - base


def compare(base: dict, tuned: dict, metrics: list[str]) -> dict:
    """Per metric (overall and per category): base rate, fine-tuned rate, and the change."""

    def table(b: dict, t: dict) -> dict:
        return {m: {"base": b.get(m), "fine_tuned": t.get(m),
                    "delta": _delta(b.get(m), t.get(m))} for m in metrics}

    result = {"overall": table(base["overall"], tuned["overall"])}
    if "by_category" in tuned:
        result["by_category"] = {
            c: table(base.get("by_category", {}).get(c, {}), summary)
            for c, summary in tuned["by_category"].items()
        }
    return result


def check_options(trials: int, batch_size: int, max_tokens: int, temperature: float,
                  limit: int | None) -> None:
    """One-line errors for settings that cannot work."""
    if trials < 0:
        raise UsageError(f"--trials {trials}: must be 0 or more (0 skips execution checks)")
    if batch_size < 1:
        raise UsageError(f"--batch-size {batch_size}: must be at least 1")
    if max_tokens < 1:
        raise UsageError(f"--max-tokens {max_tokens}: must be at least 1")
    if temperature < 0:
        raise UsageError(f"--temperature {temperature}: must be 0 (greedy) or more")
    if limit is not None and limit < 1:
        raise UsageError(f"--limit {limit}: must be at least 1")


def require_accepts(evaluator, fix: str = "drop --check-samples") -> None:
    """Checked decoding needs the evaluator's ``accepts``; say so, with ``fix``, if it has none."""
    if not hasattr(evaluator, "accepts"):
        raise UsageError(f"--check-samples: evaluator '{evaluator.name}' has no check to "
                         f"decode against (no accepts method); {fix}")


def check_decoding_options(samples: int, temperature: float) -> None:
    if samples < 0:
        raise UsageError(f"--check-samples {samples}: must be 0 (off) or more")
    if samples and not temperature > 0:
        raise UsageError(f"--check-temperature {temperature}: must be above 0 (the extra "
                         "answers are sampled)")
