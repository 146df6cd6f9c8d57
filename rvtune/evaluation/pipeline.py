"""The whole of ``rvtune eval``: examples -> generation (tuned, and base) -> scores -> files."""

import json
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from rvtune.core.errors import DataError, UsageError

from . import scoring
from .examples import (
    EvalExample,
    held_out_split,
    is_prepared_file,
    read_dataset,
    read_predictions,
    read_prepared,
)

FILES = ("eval.jsonl", "eval.json", "report.md", "eval.png")


@dataclass
class EvalConfig:
    """Everything ``rvtune eval`` needs (the command builds one from its options)."""

    run: str | None = None
    model: str | None = None
    adapter: str | None = None
    #: Which adapter of the run: best (default when kept), last, or a step number.
    checkpoint: str | None = None
    data: str | None = None
    #: How to read ``data`` when it is not a prepared jsonl: a DatasetSpec as a dict.
    dataset: dict = field(default_factory=dict)
    predictions: str | None = None
    limit: int | None = None
    out: str | None = None
    overwrite: bool = False
    evaluator: str = "riscv"
    #: Prompt layout overrides; None keeps the run's (else ``chatml``).
    formatter: str | None = None
    system: str | None = None
    instruction_template: str | None = None
    #: None: compare with the base model whenever an adapter is evaluated.
    compare_base: bool | None = None
    batch_size: int = 8
    max_tokens: int = 256
    temperature: float = 0.0
    seed: int = 0
    trials: int = 16
    #: Generate and write predictions.jsonl (and base-predictions.jsonl), score nothing:
    #: for machines without an assembler; score later with --predictions.
    generate_only: bool = False
    #: Checked decoding: an answer the evaluator's ``accepts`` rejects is replaced by the
    #: first of up to ``check_samples`` sampled answers it accepts (0 = off).
    check_samples: int = 0
    check_temperature: float = 0.8

    def identity(self) -> dict:
        """What makes two evaluations the same (where they are written aside)."""
        data = asdict(self)
        data.pop("out")
        data.pop("overwrite")
        return json.loads(json.dumps(data))


@dataclass
class EvalResult:
    """Where the files went, the summary written to ``eval.json`` and the per-example rows."""

    out: Path
    summary: dict
    rows: list


@contextmanager
def _no_progress(_label: str, _total: int):
    yield lambda _done: None


def _check(config: EvalConfig) -> None:
    scoring.check_options(config.trials, config.batch_size, config.max_tokens,
                          config.temperature, config.limit)
    scoring.check_decoding_options(config.check_samples, config.check_temperature)
    if config.predictions:
        clash = [o for o, v in (("--run", config.run), ("--model", config.model),
                                ("--adapter", config.adapter), ("--data", config.data)) if v]
        if clash:
            raise UsageError(f"--predictions scores an existing file without a model; drop "
                             f"{', '.join(clash)}")
        if config.compare_base:
            raise UsageError("--compare-base needs a model; it does not apply to --predictions")
        return
    if config.run and config.model:
        raise UsageError("give either --run RUN_DIR or --model MODEL (with --adapter), not both")
    if not config.run and not config.model:
        raise UsageError("nothing to evaluate: pass --run RUN_DIR, --model MODEL [--adapter "
                         "PATH], or --predictions FILE")
    if config.run and not Path(config.run).is_dir():
        raise UsageError(f"--run {config.run}: no such run directory")
    if not config.run and not config.data:
        raise UsageError("--model needs --data FILE (a prepared jsonl or a dataset) to know "
                         "what to evaluate on")
    if config.compare_base and not (config.run or config.adapter):
        raise UsageError("--compare-base compares a fine-tuned model with its base; give "
                         "--run or --adapter, or drop --compare-base")


def _out_dir(config: EvalConfig) -> Path:
    if config.out:
        return Path(config.out).expanduser()
    if config.run:
        return Path(config.run) / "eval"
    return Path(f"eval-{datetime.now().strftime('%Y%m%d-%H%M%S')}")


def _check_out(out: Path, config: EvalConfig) -> None:
    if not out.exists():
        return
    if not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a directory")
    if config.overwrite or not any(out.iterdir()):
        return
    summary = out / "eval.json"
    if summary.exists():
        try:
            previous = json.loads(summary.read_text(encoding="utf-8")).get("config")
        except (OSError, json.JSONDecodeError, AttributeError):
            previous = None
        if previous == config.identity():
            return
        raise UsageError(f"--out {out}: holds an evaluation with other settings; pass "
                         "--overwrite to replace it, or choose another --out")
    raise UsageError(f"--out {out}: directory is not empty and holds no evaluation; choose "
                     "another --out (or --overwrite to write into it)")


def load_examples(config: EvalConfig) -> tuple[list[EvalExample], str]:
    """The examples to evaluate and a one-line description of where they came from."""
    if config.predictions:
        path = Path(config.predictions).expanduser()
        return read_predictions(path, config.limit), str(path)
    if config.data:
        path = Path(config.data).expanduser()
        if is_prepared_file(path):
            return read_prepared(path, config.limit), str(path)
        from rvtune.core.datasets import DatasetSpec

        spec = DatasetSpec(**{**config.dataset, "source": config.data})
        return read_dataset(spec, config.limit), config.data
    path = held_out_split(Path(config.run))
    return read_prepared(path, config.limit), str(path)


def _score_all(evaluator, examples, prediction_sets: list[list[str]]) -> list[list[dict]]:
    """Score every set of predictions in one evaluator call (one assembler start)."""
    references = [e.reference for e in examples] * len(prediction_sets)
    flat = [p for predictions in prediction_sets for p in predictions]
    scores = scoring.score(evaluator, references, flat)
    n = len(examples)
    return [scores[i * n:(i + 1) * n] for i in range(len(prediction_sets))]


def evaluate(config: EvalConfig, progress=_no_progress, log=lambda _m: None) -> EvalResult:
    """Run an evaluation and write its files; returns what was written.

    ``progress(label, total)`` is a context manager yielding a callable that takes the
    number of examples done (the command shows a progress bar with it); ``log`` takes
    one-line status messages.
    """
    _check(config)
    evaluator = scoring.make_evaluator(config.evaluator, trials=config.trials, seed=config.seed)
    if config.check_samples:
        scoring.require_accepts(evaluator)
    if (not config.generate_only or config.check_samples) and hasattr(evaluator, "prepare"):
        evaluator.prepare()  # a missing checker is said before minutes of generation
    examples, data = load_examples(config)
    _check_lengths(examples)
    out = _out_dir(config)
    from rvtune.core.locks import hold

    with hold(out, "--out "):
        return _evaluate_into(out, config, evaluator, examples, data, progress, log)


def _check_lengths(examples) -> None:
    """Refuse huge text before any model loads or checker runs (it would stall generation or
    scoring for hours)."""
    from rvtune.core.datasets import MAX_FIELD_CHARS

    for example in examples:
        for field in ("prompt", "reference", "prediction"):
            text = getattr(example, field, None) or ""
            if len(text) > MAX_FIELD_CHARS:
                raise DataError(f"{example.where}: the {field} is {len(text):,} characters, "
                                f"over the {MAX_FIELD_CHARS:,} rvtune accepts; shorten the row "
                                "or drop it")


def _evaluate_into(out: Path, config: EvalConfig, evaluator, examples, data, progress,
                   log) -> EvalResult:
    _check_out(out, config)

    timing, checked, unchecked = {}, {}, {}
    predictions, base_predictions, models = None, None, {}
    if config.predictions:
        predictions = [e.prediction for e in examples]
    else:
        from .models import load_models

        models = load_models(config, log)
        compare_base = config.compare_base
        if compare_base is None:
            compare_base = models["tuned"].has_adapter
        runs = [("tuned", models["tuned"])]
        if compare_base:
            runs.append(("base", models["base"]()))
        generated = {}
        for key, model in runs:
            with _held(model, config.check_samples):
                with progress(f"generating ({model.label})", len(examples)) as advance:
                    generated[key] = model.generate(
                        examples, batch_size=config.batch_size, max_tokens=config.max_tokens,
                        temperature=config.temperature, seed=config.seed, progress=advance)
                timing.update({f"{key}_{k}": v for k, v in model.timing.items()})
                if config.check_samples:
                    unchecked[key] = generated[key]
                    generated[key], checked[key] = _checked_decoding(
                        config, evaluator, model, examples, generated[key], progress, log)
        predictions = generated["tuned"]
        base_predictions = generated.get("base")
    if config.generate_only:
        return _write_predictions(out, examples, predictions, base_predictions, models, data,
                                  unchecked)

    sets = [predictions] + ([base_predictions] if base_predictions is not None else [])
    log(f"Scoring {len(examples) * len(sets)} predictions with evaluator '{evaluator.name}' "
        "...")
    started = time.perf_counter()
    scored = _score_all(evaluator, examples, sets)
    timing["scoring_s"] = round(time.perf_counter() - started, 3)
    scores = scored[0]
    base_scores = scored[1] if base_predictions is not None else None
    metrics = scoring.metric_names(evaluator, scores)
    categories = scoring.categories(evaluator, examples)
    results = scoring.aggregate(evaluator, scores, categories, metrics)
    base_results = (scoring.aggregate(evaluator, base_scores, categories, metrics)
                    if base_scores is not None else None)

    rows = []
    for index, (example, prediction, s) in enumerate(zip(examples, predictions, scores)):
        row = {"index": index, "where": example.where, "category": categories[index],
               "prompt": example.prompt, "reference": example.reference,
               "prediction": prediction, **s}
        if "tuned" in unchecked and unchecked["tuned"][index] != prediction:
            row["unchecked_prediction"] = unchecked["tuned"][index]
        if base_scores is not None:
            row["base"] = {"prediction": base_predictions[index], **base_scores[index]}
        rows.append(row)

    total = timing.get("tuned_generation_s", 0.0) + timing["scoring_s"]
    timing["examples_per_s"] = round(len(examples) / total, 3) if total else None
    tuned = models.get("tuned")
    summary = {
        "rvtune_version": _version(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "title": tuned.label if tuned else f"predictions in {data}",
        "evaluator": evaluator.name,
        "metrics": metrics,
        "examples": len(examples),
        "data": data,
        "run": config.run,
        "model": tuned.model if tuned else None,
        "adapter": tuned.adapter if tuned else None,
        "predictions": config.predictions,
        "settings": _settings(config),
        "results": results,
    }
    if base_results is not None:
        summary["base_results"] = base_results
        summary["comparison"] = scoring.compare(base_results, results, metrics)
    if checked:
        summary["checked_decoding"] = checked
    summary["chart"] = "eval.png" if metrics else None
    summary["timing"] = timing
    summary["config"] = config.identity()
    _write(out, summary, rows, results, base_results, metrics)
    return EvalResult(out, summary, rows)


def _held(model, checked: int):
    """Keep ``model`` loaded through checked decoding's rounds (one load, not one a round)."""
    from contextlib import nullcontext

    return model.kept_loaded() if checked else nullcontext()


def _checked_decoding(config: EvalConfig, evaluator, model, examples, answers, progress,
                      log) -> tuple[list[str], dict]:
    """Replace each answer ``evaluator.accepts`` rejects by the first of up to
    ``config.check_samples`` sampled answers it accepts (a new seed per round)."""
    answers = list(answers)
    ok = evaluator.accepts(answers)
    rejected = [i for i, good in enumerate(ok) if not good]
    pending = list(rejected)
    rounds = 0
    for round_ in range(1, config.check_samples + 1):
        if not pending:
            break
        rounds = round_
        subset = [examples[i] for i in pending]
        with progress(f"checked decoding, round {round_} ({model.label})",
                      len(subset)) as advance:
            samples = model.generate(subset, batch_size=config.batch_size,
                                     max_tokens=config.max_tokens,
                                     temperature=config.check_temperature,
                                     seed=config.seed + round_, progress=advance)
        still = []
        for index, sample, good in zip(pending, samples, evaluator.accepts(samples)):
            if good:
                answers[index] = sample
            else:
                still.append(index)
        pending = still
    fixed = len(rejected) - len(pending)
    log(f"Checked decoding ({model.label}): {len(rejected)} of {len(answers)} answers rejected, "
        f"{fixed} replaced by a sampled answer that passes, in {rounds} round(s)")
    return answers, {"samples": config.check_samples, "temperature": config.check_temperature,
                     "rejected": len(rejected), "replaced": fixed, "rounds": rounds}


def _write_predictions(out: Path, examples, predictions, base_predictions, models,
                       data, unchecked=None) -> EvalResult:
    """``--generate-only``: the answers in the ``--predictions`` layout, nothing scored."""
    from .report import write_rows

    out.mkdir(parents=True, exist_ok=True)
    written = {}
    unchecked = unchecked or {}
    for name, key, answers in (("predictions.jsonl", "tuned", predictions),
                               ("base-predictions.jsonl", "base", base_predictions)):
        if answers is None:
            continue
        before = unchecked.get(key) or answers
        write_rows(out / name, [{"where": e.where, "category": e.category, "prompt": e.prompt,
                                 "reference": e.reference, "prediction": answer,
                                 **({"unchecked_prediction": old} if old != answer else {})}
                                for e, answer, old in zip(examples, answers, before)])
        written[name] = str(out / name)
    tuned = models.get("tuned")
    summary = {"examples": len(examples), "data": data, "generated": written,
               "model": tuned.model if tuned else None,
               "adapter": tuned.adapter if tuned else None}
    return EvalResult(out, summary, [])


def _settings(config: EvalConfig) -> dict:
    settings = {"trials": config.trials, "seed": config.seed}
    if not config.predictions:
        settings.update(batch_size=config.batch_size, max_tokens=config.max_tokens,
                        temperature=config.temperature)
    if config.limit is not None:
        settings["limit"] = config.limit
    if config.check_samples:
        settings.update(check_samples=config.check_samples,
                        check_temperature=config.check_temperature)
    return settings


def _write(out: Path, summary, rows, results, base_results, metrics) -> None:
    from .chart import write_chart
    from .report import write_report, write_rows, write_summary

    out.mkdir(parents=True, exist_ok=True)
    # eval.json goes last: while it is missing the directory holds no finished evaluation.
    (out / "eval.json").unlink(missing_ok=True)
    write_rows(out / "eval.jsonl", rows)
    if metrics:
        write_chart(out / "eval.png", results, metrics, base_results, title=summary["title"])
    else:
        (out / "eval.png").unlink(missing_ok=True)
    write_report(out / "report.md", summary, rows)
    write_summary(out / "eval.json", summary)


def _version() -> str:
    from rvtune import __version__

    return __version__
