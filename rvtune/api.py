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

import json
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


def _args(command, options: dict) -> list[str]:
    """``options`` (Python names) as the command line of ``command``."""
    import click

    from rvtune.core.errors import UsageError

    def python_name(opt: str) -> str:
        return opt.lstrip("-").replace("-", "_")

    options_of = [p for p in command.params if isinstance(p, click.Option) and p.name != "help"]
    params = {}  # by option name (--run-dir -> run_dir) and by parameter name
    for param in options_of:
        for opt in param.opts:
            params[python_name(opt)] = param
        params.setdefault(param.name, param)
    args: list[str] = []
    for key, value in options.items():
        param = params.get(key)
        if param is None:
            known = ", ".join(sorted(python_name(p.opts[0]) for p in options_of))
            raise UsageError(f"{command.name}(): unknown option {key!r}; options: {known}")
        if value is None:
            continue
        flag = param.opts[0]
        if getattr(param, "is_flag", False):
            if param.secondary_opts and not value:
                args.append(param.secondary_opts[0])
            elif value:
                args.append(flag)
        elif getattr(param, "multiple", False):
            values = value if isinstance(value, (list, tuple)) else [value]
            for item in values:
                args += [flag, str(item)]
        else:
            args += [flag, str(value)]
    return args


def _invoke(name: str, options: dict, positional: tuple = ()):
    """Run ``rvtune NAME`` in this process; RvtuneErrors propagate as they are."""
    import click

    from rvtune.cli import cli
    from rvtune.core.errors import UsageError
    from rvtune.training.cpu import fast_blas

    fast_blas()
    command = cli.get_command(click.Context(cli), name)
    args = ["--debug", name, *_args(command, options), *map(str, positional)]
    try:
        return cli.main(args=args, prog_name="rvtune", standalone_mode=False)
    except click.UsageError as exc:
        raise UsageError(f"rvtune.{name}(): {exc.format_message()}") from None
    except click.exceptions.Exit as exc:
        if exc.exit_code:
            raise UsageError(f"rvtune.{name}() stopped with exit code {exc.exit_code}") from None


def run(config: RunConfig | None = None, **options) -> RunResult:
    """Fine-tune, exactly as ``rvtune run`` (prepare, train, save, sample, summary).

    Takes a :class:`RunConfig`, or ``rvtune run``'s options as keyword arguments (``preset``,
    ``model``, ``dataset``, ``iters``, ``epochs``, ``learning_rate``, ``run_dir``,
    ``resume``...), which are its given fields: a preset or ``config`` file fills only the
    others. Returns the run directory and its summary.
    """
    from rvtune.core.run import run as run_job
    from rvtune.training.cpu import fast_blas

    if config is None:
        config = RunConfig(**options)
    elif options:
        raise UsageError("run(): pass a RunConfig or keyword options, not both")
    fast_blas()
    result = run_job(config)
    if result is None:
        raise RvtuneError("run(): the launched run finished but its directory is unknown; "
                          "pass run_dir=")
    return result


def prepare(**options) -> PrepareResult:
    """Prepare data, exactly as ``rvtune prepare`` (``dataset``, ``formatter``, ``out``,
    ``filters``...); returns the data directory and its manifest."""
    _invoke("prepare", options)
    out = Path(options.get("out") or "data")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return PrepareResult(out.resolve(), manifest)


def export(**options) -> Path:
    """Export an adapter, exactly as ``rvtune export`` (``run``, ``format``, ``fuse``,
    ``out``...); returns the path written."""
    return Path(_invoke("export", options)).resolve()


def evaluate(**options) -> EvalResult:
    """Evaluate, exactly as ``rvtune eval`` (``run``, ``data``, ``limit``,
    ``check_samples``...); returns the output directory and its ``eval.json`` (with
    ``generate_only``, the predictions' paths instead)."""
    _invoke("eval", options)
    if options.get("out"):
        out = Path(options["out"])
    elif options.get("run"):
        out = Path(options["run"]) / "eval"
    else:
        from rvtune.core.errors import UsageError

        raise UsageError("rvtune.evaluate(): pass out= to know where the evaluation went")
    summary_path = out / "eval.json"
    summary = (json.loads(summary_path.read_text(encoding="utf-8"))
               if summary_path.exists() else
               {"generated": sorted(str(p) for p in out.glob("*predictions.jsonl"))})
    return EvalResult(out.resolve(), summary)
