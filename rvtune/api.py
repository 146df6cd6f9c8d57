"""rvtune from Python: ``rvtune.prepare``, ``rvtune.run``, ``rvtune.export``, ``rvtune.evaluate``.

Each function takes the command's options as keyword arguments, named as in ``--help`` with
dashes as underscores (``learning_rate=2e-4``, ``run_dir="runs/a"``), runs the very code the
command runs (same checks, same files, same messages) and returns what was written. Errors are
raised as :class:`rvtune.core.errors.RvtuneError` (``UsageError`` for options, ``DataError``
for data...) carrying the one-line message the command would print::

    import rvtune
    result = rvtune.run(preset="tiny", iters=50, run_dir="runs/nb")
    result.summary["val_loss"], result.adapters
    rvtune.export(run="runs/nb", format="mlx")
    rvtune.evaluate(run="runs/nb", limit=20).summary["results"]["overall"]["exact"]

``rvtune.load`` loads a result for ``mlx_lm.generate`` (docs/python-api.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rvtune.core.errors import RvtuneError, UsageError
from rvtune.core.run import RunResult
from rvtune.core.run_config import RunConfig

__all__ = ["RunConfig", "RunResult", "PrepareResult", "EvalResult", "run", "prepare", "export",
           "evaluate"]


@dataclass
class PrepareResult:
    """What ``rvtune.prepare`` wrote: the data directory and its ``manifest.json``."""

    out: Path
    manifest: dict


@dataclass
class EvalResult:
    """What ``rvtune.evaluate`` wrote: the output directory and its ``eval.json``."""

    out: Path
    summary: dict


def run(config: RunConfig | None = None, **options) -> RunResult:
    """Fine-tune, exactly as ``rvtune run`` (prepare, train, save, sample, summary).

    Takes a :class:`RunConfig`, or ``rvtune run``'s options as keyword arguments (``preset``,
    ``model``, ``dataset``, ``iters``, ``epochs``, ``learning_rate``, ``run_dir``,
    ``resume``...), which are its given fields: a preset or ``config`` file fills only the
    others. Returns the run directory and its summary.
    """
    from rvtune.core.run import run as run_job
    from rvtune.training import before_mlx

    if config is None:
        config = RunConfig(**options)
    elif options:
        raise UsageError("run(): pass a RunConfig or keyword options, not both")
    before_mlx()
    result = run_job(config)
    if result is None:
        raise RvtuneError("run(): the launched run finished but its directory is unknown; "
                          "pass run_dir=")
    return result


def prepare(**options) -> PrepareResult:
    """Prepare data, exactly as ``rvtune prepare`` (``dataset``, ``formatter``, ``out``,
    ``filters``...); returns the data directory and its manifest."""
    from rvtune.core.options import given_options, prepare_config
    from rvtune.core.prepare import prepare as run_prepare
    from rvtune.core.run_config import MULTIPLE, OPTION_NAMES, RunConfig, kind_of, option_names

    names = option_names()
    data = names[names.index("dataset"):names.index("limit") + 1]
    kinds = {**{name: kind_of(name) for name in data}, "out": "path", "overwrite": "bool"}
    given = given_options("prepare", options, kinds, OPTION_NAMES, MULTIPLE)
    defaults = {name: getattr(RunConfig, name) for name in data}
    params = {**defaults, "out": "data", "overwrite": False, **given}
    result = run_prepare(prepare_config(params, params["out"]))
    return PrepareResult(Path(result.out).resolve(), result.manifest)


def export(**options) -> Path:
    """Export an adapter, exactly as ``rvtune export`` (``run``, ``format``, ``fuse``,
    ``out``...); returns the path written."""
    from rvtune.core.options import given_options
    from rvtune.export.pipeline import KINDS
    from rvtune.export.pipeline import export as run_export

    # The command's own Python names, as the earlier API took them, are accepted too.
    aliases = {"run_dir": "run", "fmt": "format"}
    options = {aliases.get(key, key): value for key, value in options.items()}
    if "config" in options:
        raise UsageError("export(): unknown option 'config' (`rvtune export` takes no "
                         "config file)")
    given = given_options("export", options, KINDS)
    return run_export(**given).path.resolve()


def evaluate(**options) -> EvalResult:
    """Evaluate, exactly as ``rvtune eval`` (``run``, ``data``, ``limit``,
    ``check_samples``...); returns the output directory and its ``eval.json`` (with
    ``generate_only``, the predictions' paths instead)."""
    import sys

    from rvtune.core.options import given_options
    from rvtune.evaluation.options import KINDS, RENAMED, REPEATABLE, defaults, eval_config
    from rvtune.evaluation.pipeline import evaluate as run_evaluation
    from rvtune.training import before_mlx

    given = given_options("eval", options, KINDS, RENAMED, REPEATABLE)
    before_mlx()
    result = run_evaluation(eval_config({**defaults(), **given}),
                            log=lambda line: print(line, file=sys.stderr, flush=True))
    return EvalResult(Path(result.out).resolve(), result.summary)
