"""One fine-tuning run, as ``rvtune run`` and ``rvtune.run`` do it: prepare the data, train
LoRA adapters, save them, sample an answer and write ``summary.json``, all in one run
directory (docs/run-directory.md); or start the ranks of a data-parallel run.

:func:`run` takes a :class:`~rvtune.core.run_config.RunConfig` and returns a
:class:`RunResult`. Errors are :class:`~rvtune.core.errors.RvtuneError` with the command's
one-line message. No click here (the command is a thin wrapper over this); MLX is imported
only when training starts.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import RvtuneError, UsageError
from .run_config import RunConfig, apply_preset, fill_preset, rank_args, read_config_file, \
    resumed, split_modules
from .run_dir import claim_new_run_dir, clear, drop_unresumable, never_checkpointed, \
    new_run_dir, point_latest_at, write_config


@dataclass
class RunResult:
    """What a run produced: its directory and its ``summary.json`` (steps, losses, paths)."""

    run_dir: Path
    summary: dict

    @property
    def adapters(self) -> Path:
        """The final adapter directory (``RUN/adapters``)."""
        return Path(self.summary["adapters"])

    @property
    def metrics(self) -> list[dict]:
        """Every record of ``metrics.jsonl`` (train and validation)."""
        path = self.run_dir / "metrics.jsonl"
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip()]

    @classmethod
    def read(cls, run_dir) -> "RunResult":
        """The result of the finished run in ``run_dir``."""
        run_dir = Path(run_dir).resolve()
        return cls(run_dir, json.loads((run_dir / "summary.json").read_text(encoding="utf-8")))


class LaunchFailed(RvtuneError):
    """A rank of a data-parallel run failed; the ranks printed why (exit code: theirs)."""

    def __init__(self, code: int):
        super().__init__(f"the launched run failed (exit code {code}); the ranks' errors "
                         "are above")
        self.exit_code = code


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped the run after it saved a checkpoint (``--resume`` continues it)."""


def _print(line: str = "", err: bool = False) -> None:
    import sys

    print(line, file=sys.stderr if err else sys.stdout, flush=True)


def run(config: RunConfig, echo=_print) -> RunResult | None:
    """Run ``config``: its config file and preset fill the fields not given (``--resume``
    reads the run's own options back), then prepare -> train -> save -> sample -> summary.

    Returns the :class:`RunResult` (None on ranks other than 0 of a data-parallel run, and
    for a launched run whose directory is unknown). ``echo(line, err=False)`` prints.
    Ctrl-C saves a checkpoint and raises :class:`Interrupted`; a failed launched rank
    raises :class:`LaunchFailed`.
    """
    from rvtune.training import launch

    config = read_config_file(config)
    if config.nproc < 1:
        raise UsageError(f"--nproc {config.nproc}: must be 1 or more")
    _refuse_eval_only(config)
    wants_launch = config.nproc > 1 or config.hostfile
    if launch.under_launcher():
        if wants_launch and not os.environ.get(launch.LAUNCHED_ENV) and (
                "nproc" in config.given or "hostfile" in config.given):
            raise UsageError("--nproc/--hostfile: this process is already one rank of a "
                             "launched job (MLX_RANK is set); drop them")
    elif wants_launch:
        return _launch(config, echo)

    launch.pin_device()
    import mlx.core as mx

    world = mx.distributed.init()
    try:
        return _run(config, world, echo)
    except RvtuneError as exc:
        if world.rank() == 0:
            raise
        # The same check failed on rank 0, which says so; one message is enough.
        raise SystemExit(exc.exit_code) from None


def _refuse_eval_only(config: RunConfig) -> None:
    """An adapter marked ``eval_only`` (riscv-phrasings) is never trained on."""
    from .datasets import choose_adapter
    from .options import dataset_spec
    from .plugins import registry

    adapter = choose_adapter(dataset_spec(config.options()), registry())
    if getattr(adapter, "eval_only", False):
        raise UsageError(f"--dataset {config.dataset}: '{adapter.name}' is an evaluation set "
                         f"and is never trained on; score a run with `rvtune eval --run RUN "
                         f"--data {adapter.name}`")


def _launch(config: RunConfig, echo) -> RunResult | None:
    """Check what can be checked once, then start the ranks through mlx.launch."""
    from rvtune.training import launch

    from .jobs import TrainConfig

    if config.nproc > 1 and config.hostfile:
        raise UsageError("--nproc and --hostfile: give one (the hostfile says how many "
                         "processes run where)")
    hostfile = launch.read_hostfile(config.hostfile) if config.hostfile else None
    effective = config._copy(resumed(config)) if config.resume else config._copy()
    if effective.preset and not config.resume:
        fill_preset(effective)
    effective.target_modules = split_modules(effective.target_modules)
    TrainConfig.from_dict(effective.options()).check()
    processes = len(hostfile.hosts) if hostfile else config.nproc
    batch = effective.batch_size
    if batch % processes:
        raise UsageError(f"--batch-size {batch}: must be a multiple of the number of "
                         f"processes ({processes}); each process takes batch-size / "
                         f"processes rows of every step")
    latest = Path("runs") / "latest"
    before = latest.resolve() if latest.exists() else None
    job = launch.build_command(rank_args(config), nproc=config.nproc, hostfile=hostfile,
                               backend=config.backend)
    echo(f"Launching {job.processes} processes ({job.backend} backend, "
         f"{batch // processes} rows each per step): {launch.describe(job.command)}")
    code = launch.run_command(job.command)
    if code:
        raise LaunchFailed(code)
    # Rank 0 picked the directory: the one given, else the new runs/latest.
    run_dir = config.resume or config.run_dir
    if run_dir is None and latest.exists() and latest.resolve() != before:
        run_dir = latest
    if run_dir is None or not (Path(run_dir) / "summary.json").is_file():
        return None
    return RunResult.read(run_dir)


def _not_visible(world, path: Path, echo) -> None:
    """A rank other than 0 cannot see what rank 0 wrote: say so from this rank."""
    import socket

    echo(f"Error: rank {world.rank()} on {socket.gethostname()}: {path} is not "
         "there; with several machines the run directory must be on a shared "
         "filesystem at the same path on every machine (docs/distributed.md)", err=True)
    raise SystemExit(2)


def _run(config: RunConfig, world, echo) -> RunResult | None:
    from rvtune.training.launch import from_main, main_first
    from rvtune.training.progress import RunLog

    from .jobs import TrainConfig
    from .plugins import registry

    main = world.rank() == 0
    resume = bool(config.resume)
    if resume:
        # Rank 0 reads config.yaml; the others take the merged options from it (as JSON).
        config = config._copy(from_main(world, lambda: resumed(config)))
    else:
        config = config._copy()
    config.target_modules = split_modules(config.target_modules)

    log = RunLog(None, enabled=main)
    if resume:
        if config.preset == "tiny":
            from rvtune.training.tiny import NOTICE, tiny_model_path

            main_first(world, lambda: tiny_model_path(log=log))
            log(f"NOTE: {NOTICE}.")
    elif config.preset:
        main_first(world, lambda: apply_preset(config, log))

    if config.epochs is not None and "iters" in config.given:
        raise UsageError(f"--iters {config.iters} and --epochs {config.epochs}: give one "
                         "(the other is derived from the number of training rows)")
    train_config = TrainConfig.from_dict(config.options())
    train_config.check()
    trainer_cls = registry().get("trainer", train_config.trainer, option="--trainer")
    if config.sample_tokens < 0:
        raise UsageError(f"--sample-tokens {config.sample_tokens}: must be 0 or more")
    if train_config.batch_size % world.size():
        raise UsageError(f"--batch-size {train_config.batch_size}: must be a multiple of the "
                         f"number of processes ({world.size()}); each process takes "
                         "batch-size / processes rows of every step")

    from .options import prepare_config
    from .prepare import check_config

    check_config(prepare_config(config.options(), "data"))  # bad data options: before writes
    held = contextlib.ExitStack()  # rank 0's lock on the run directory, for the whole run
    claimed = {"created": False, "restart": False, "parent": None, "existed": False}

    def make_run_dir() -> str:
        from rvtune.training.checkpoint import list_checkpoints

        from .errors import BusyError
        from .locks import hold

        path = (Path(config.run_dir).expanduser() if resume
                else new_run_dir(config.run_dir))
        if not path.parent.exists():
            claimed["parent"] = path.parent  # runs/ itself, made for this run
        taken = []
        while True:
            try:
                held.enter_context(hold(path, "--resume " if resume else "--run-dir "))
                break
            except BusyError:
                if resume or config.run_dir:
                    raise
                taken.append(path)  # a run started in the same second: take the next name
                path = new_run_dir(None, taken)
        if resume and not list_checkpoints(path / "checkpoints") and not never_checkpointed(
                path):
            raise UsageError(f"--resume {path}: has no checkpoint to continue from (its "
                             "adapter is kept as it is); start a new run to train more")
        if resume and not list_checkpoints(path / "checkpoints"):
            # Stopped before its first checkpoint: nothing to continue, so start over there
            # with the saved options (the directory stays usable instead of blocking).
            log(f"{path}: the run stopped before its first checkpoint; starting it over")
            clear(path)
            claimed["restart"] = True
        elif not resume:
            claim_new_run_dir(path, log)
        claimed["created"] = not resume or claimed["restart"]
        claimed["existed"] = path.exists()  # an empty directory the user made stays
        path.mkdir(parents=True, exist_ok=True)
        write_config(path, config.options())
        return str(path)

    # Rank 0 alone picks and creates the directory (a timestamped name could differ per
    # rank, and a rank that looked after rank 0 wrote config.yaml would find it in use).
    with held:
        run_dir = Path(from_main(world, make_run_dir))
        restart = bool(from_main(world, lambda: claimed["restart"]))
        try:
            return _train_in(config, world, train_config, trainer_cls, run_dir,
                             resume and not restart, echo)
        except BaseException:
            if main and claimed["restart"]:
                # Started over from --resume and failed again: keep config.yaml, so that
                # `--resume` still works once the cause is fixed.
                if never_checkpointed(run_dir):
                    clear(run_dir, keep=("config.yaml",))
            elif main and claimed["created"]:
                drop_unresumable(run_dir, claimed["parent"], claimed["existed"])
            raise


def _train_in(config: RunConfig, world, train_config, trainer_cls, run_dir: Path,
              resume: bool, echo) -> RunResult | None:
    from rvtune.training.launch import from_main
    from rvtune.training.progress import RunLog

    from .jobs import TrainJob
    from .options import prepare_config, prepare_report

    main = world.rank() == 0
    log = RunLog(run_dir / "run.log", enabled=main)
    log(f"{'Resuming' if resume else 'Run'} directory: {run_dir}")
    if world.size() > 1:
        log(f"Data-parallel over {world.size()} processes: each takes "
            f"{train_config.batch_size // world.size()} of the {train_config.batch_size} "
            "rows of every step")

    data_dir = run_dir / "data"

    def prepare_data() -> None:
        if resume and (data_dir / "manifest.json").exists():
            return
        from .prepare import prepare

        result = prepare(prepare_config(config.options(), str(data_dir)))
        for line in prepare_report(result):
            echo(line)
        log.write(f"prepared {result.out}: {result.counts}")

    from_main(world, prepare_data)
    if not main:
        for needed in [data_dir / "manifest.json"] + ([run_dir / "checkpoints"] if resume
                                                      else []):
            if not needed.exists():
                _not_visible(world, needed.resolve(), echo)

    job = TrainJob(config=train_config, data_dir=data_dir, run_dir=run_dir, resume=resume,
                   rank=world.rank(), world_size=world.size(), log=log)
    result = trainer_cls().train(job)
    if result.interrupted:
        raise Interrupted()
    if not main:
        return None
    if result.adapter_dir is not None:
        point_latest_at(run_dir)  # only runs that produced an adapter become runs/latest
    sample = _sample(config, result, run_dir, log)
    summary = _summary(config, train_config, result, run_dir, sample, log)
    return RunResult(run_dir.resolve(), summary)


def _sample(config: RunConfig, result, run_dir: Path, log):
    if not config.sample_tokens or result.adapter_dir is None:
        return None
    from rvtune.inference import generate
    from rvtune.training.sample import load_trained

    from .options import prepare_config
    from .prepare import make_formatter

    prompt = config.sample_prompt
    if not prompt:
        for split in ("test", "valid", "train"):
            path = run_dir / "data" / f"{split}.jsonl"
            if path.exists() and path.stat().st_size:
                with open(path, encoding="utf-8") as fh:
                    prompt = json.loads(fh.readline())["input"]
                break
    formatter = make_formatter(prepare_config(config.options(), str(run_dir / "data")))
    model, tokenizer, _ = load_trained(result.adapter_dir)
    text = generate(model, tokenizer, formatter.render_prompt(prompt),
                    max_tokens=config.sample_tokens, temp=0.0, seed=config.seed,
                    stop_strings=formatter.stop_strings, has_bos=formatter.has_bos)
    log.write(f"sample prompt: {prompt!r} -> {text!r}")
    return {"prompt": prompt, "output": text}


def _summary(config: RunConfig, train_config, result, run_dir: Path, sample, log) -> dict:
    from .atomic import write_json

    def fmt(value):
        return "-" if value is None else f"{value:.4f}"

    summary = {
        "run_dir": str(run_dir), "model": train_config.model, "preset": config.preset,
        "trainer": train_config.trainer, "steps": result.steps,
        "train_loss": result.train_loss, "val_loss": result.val_loss,
        "trainable_parameters": result.trainable_parameters,
        "total_parameters": result.total_parameters, "train_seconds": round(result.seconds, 1),
        "adapters": str(result.adapter_dir) if result.adapter_dir else None,
        "epochs": result.epochs,
        "best": ({"step": result.best_step, result.best_metric: result.best_score,
                  "adapters": str(run_dir / "best-adapters")}
                 if result.best_step is not None else None),
        "stopped_early": result.stopped_early,
        "sample": sample,
    }
    write_json(run_dir / "summary.json", summary)
    lines = [
        "",
        f"Done: {result.steps} steps in {result.seconds:.0f}s; train loss "
        f"{fmt(result.train_loss)}, validation loss {fmt(result.val_loss)}",
        f"  adapters:  {run_dir / 'adapters'}  (mlx_lm.load(MODEL, adapter_path=...)) and "
        f"{run_dir / 'adapters.npz'}",
        f"  metrics:   {run_dir / 'metrics.jsonl'}, plot {run_dir / 'loss.png'}, "
        f"log {run_dir / 'run.log'}",
    ]
    if result.best_step is not None:
        lines.append(f"  best:      {run_dir / 'best-adapters'} (step {result.best_step}, "
                     f"{result.best_metric} {fmt(result.best_score)}); export, generate and "
                     "eval use it unless given --checkpoint last")
    if sample:
        lines.append(f"  sample:    {sample['prompt']!r}")
        lines.append(f"         -> {sample['output']!r}")
    if config.preset == "tiny":
        lines.append("  (tiny preset: this proves the pipeline works; the toy model's answers "
                     "are not useful)")
    for line in lines:
        log(line)
    return summary
