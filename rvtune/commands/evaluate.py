"""``rvtune eval``: does the model write valid, correct answers? (docs/eval.md)"""

from contextlib import contextmanager

import click

from rvtune.core.config import config_options, print_config_if_asked
from .options import source_options

# The dataset options of `prepare`, renamed where `eval` needs the name for something else
# (`--adapter` is the LoRA adapter here; the dataset adapter is `--data-adapter`).
_data_options_group = source_options(
    "--data", "--data-adapter", default=None,
    source_help="Evaluate on this instead of the run's held-out split: a prepared .jsonl, "
                "a local file/dir, a dataset adapter name ('riscv') or a hub id.")


@contextmanager
def _progress_bar(label: str, total: int):
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.update(task, completed=done)


def _print_summary(result) -> None:
    summary = result.summary
    overall = summary["results"]["overall"]
    comparison = (summary.get("comparison") or {}).get("overall", {})
    click.echo(f"Evaluated {summary['examples']} examples with '{summary['evaluator']}' "
               f"-> {result.out}/ (report.md, eval.json, eval.jsonl, eval.png)")
    for metric in summary["metrics"]:
        value = overall.get(metric)
        text = "-" if value is None else f"{100 * value:5.1f}%"
        if metric in comparison and comparison[metric]["base"] is not None:
            text += f"  (base {100 * comparison[metric]['base']:.1f}%)"
        click.echo(f"  {metric:<16} {text}")
    _print_categories(summary)


def _print_categories(summary: dict) -> None:
    by_category = summary["results"].get("by_category") or {}
    if len(by_category) < 2:
        return
    base = (summary.get("base_results") or {}).get("by_category") or {}
    metrics = summary["metrics"]

    def pct(value) -> str:
        return "-" if value is None else f"{100 * value:.0f}"

    width = max(12, *(len(m) for m in metrics))
    click.echo("By category (%" + (", base -> fine-tuned" if base else "") + "):")
    click.echo(f"  {'category':<12} {'n':>5} " + " ".join(f"{m:>{width}}" for m in metrics))
    for name, results in by_category.items():
        cells = []
        for metric in metrics:
            cell = pct(results.get(metric))
            if base:
                cell = f"{pct(base.get(name, {}).get(metric))} -> {cell}"
            cells.append(f"{cell:>{width}}")
        click.echo(f"  {name[:12]:<12} {results['examples']:>5} " + " ".join(cells))
    causes = summary["results"]["overall"].get("exec_undecidable_causes") or {}
    if causes:
        click.echo("exec_match undecidable: " + "; ".join(f"{n} {cause}"
                                                          for cause, n in causes.items()))


@click.command("eval")
@config_options
@click.option("--run", type=click.Path(file_okay=False), default=None,
              help="Run directory from `rvtune run` (its model, adapter, formatter, test split).")
@click.option("--model", default=None, help="Base model (hub id or local dir) when not using --run.")
@click.option("--adapter", default=None,
              help="Adapter to evaluate: adapters.npz, an MLX or PEFT adapter dir, a run dir "
                   "or a checkpoint (with --run: instead of the run's final adapter).")
@click.option("--checkpoint", default=None, metavar="best|last|STEP",
              help="Which adapter of the run: best (the lowest validation loss; the default "
                   "when the run kept one), last, or a checkpoint's step.")
@_data_options_group
@click.option("--predictions", type=click.Path(dir_okay=False), default=None,
              help="Score an existing jsonl of {reference, prediction, category?} without a model.")
@click.option("--limit", type=int, default=None, help="Evaluate only the first N examples.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Output directory [default: RUN/eval, or ./eval-<timestamp>].")
@click.option("--overwrite", is_flag=True, help="Replace an evaluation made with other settings.")
@click.option("--evaluator", default="riscv", show_default=True,
              help="Evaluator plugin that scores the answers (see `rvtune plugins`).")
@click.option("--formatter", default=None,
              help="Prompt formatter [default: the run's, else chatml].")
@click.option("--system", default=None, help="System message for chat formatters.")
@click.option("--instruction-template", default=None,
              help="Wrap each prompt, e.g. 'Write the RISC-V assembly for: {description}'.")
@click.option("--compare-base/--no-compare-base", default=None,
              help="Also evaluate the base model without the adapter, on the same prompts "
                   "[default: on when there is an adapter].")
@click.option("--batch-size", type=int, default=8, show_default=True,
              help="Prompts generated together.")
@click.option("--max-tokens", type=int, default=256, show_default=True,
              help="Most tokens generated per answer.")
@click.option("--temperature", type=float, default=0.0, show_default=True,
              help="Sampling temperature; 0 is greedy.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed for sampling and for the evaluator's random trials.")
@click.option("--trials", type=int, default=16, show_default=True,
              help="Random starting states per example for execution checks (riscv).")
@click.option("--check-samples", type=int, default=0, show_default=True, metavar="K",
              help="Checked decoding: when an answer fails the evaluator's check (riscv: "
                   "does not assemble), sample up to K more and keep the first that passes. "
                   "Applied to the base model too; 0 = off.")
@click.option("--check-temperature", type=float, default=0.8, show_default=True,
              help="Sampling temperature of --check-samples.")
@click.option("--generate-only", is_flag=True,
              help="Only generate: write predictions.jsonl (and base-predictions.jsonl) into "
                   "--out and score nothing; score them later, where an assembler is "
                   "installed, with --predictions.")
@click.pass_context
def evaluate(ctx, **params):
    """Generate answers for held-out prompts and score them (see docs/eval.md).

    By default evaluates a run on its test split (else its validation split), and the base
    model too for comparison. Writes eval.jsonl (every example: prompt, reference,
    prediction, each metric and the checker's message), eval.json (rates overall and per
    category), report.md and eval.png into --out.
    """
    if print_config_if_asked(ctx):
        return
    from rvtune.evaluation.options import eval_config
    from rvtune.evaluation.pipeline import evaluate as run_evaluation

    result = run_evaluation(eval_config(params), progress=_progress_bar,
                            log=lambda m: click.echo(m, err=True))
    if params["generate_only"]:
        for path in result.summary["generated"].values():
            click.echo(f"Wrote {path}; score it with `rvtune eval --predictions {path}`")
        return
    _print_summary(result)
