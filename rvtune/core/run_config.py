"""The settings of one fine-tuning run: :class:`RunConfig`, ``rvtune run``'s options as a
typed object, and how a preset, a config file and a resumed run fill the fields the user did
not give.

Which fields were *given* matters: a preset (``--preset tiny``) and a config file fill only
the others, and ``--resume`` refuses to change a given training setting. ``rvtune run``
counts its flags and its ``--config`` file as given; ``RunConfig(iters=50)`` counts its
keyword arguments. No click here: the Python API builds and runs a RunConfig without it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, fields
from pathlib import Path

from .datasets import DEFAULT_COMPLETION_FIELD, DEFAULT_DATASET, DEFAULT_PROMPT_FIELD
from .errors import UsageError
from .jobs import ALL_PROJECTIONS, DEFAULT_MODEL, LR_SCHEDULES, SELECT_BY, TRAIN_ON

PRESETS = ("tiny", "smollm2")
BACKENDS = ("auto", "ring", "mpi", "nccl")
# Options that may change on --resume; every other one must match the saved run.
RESUMABLE = {"iters", "epochs", "early_stop", "log_to", "steps_per_report", "steps_per_eval",
             "val_batches", "save_every", "keep_checkpoints", "force", "sample_prompt",
             "sample_tokens", "pack"}
# Not training settings: how the run is started (the result does not depend on them).
NOT_SAVED = {"config", "print_config", "resume", "run_dir", "nproc", "hostfile", "backend"}
# Each field's type, as the checks below know it: a Python type, "path" (a non-empty
# string), a tuple of choices; MULTIPLE fields hold a tuple of strings.
MULTIPLE = {"dataset_option", "filters", "target_modules"}
PATHS = {"config", "adapter_init", "run_dir", "resume", "hostfile"}
CHOICES = {"on_bad_row": ("fail", "skip"), "preset": PRESETS, "lr_schedule": LR_SCHEDULES,
           "select_by": SELECT_BY, "train_on": TRAIN_ON, "backend": BACKENDS}
# Flags written --name / --no-name on the command line (the others: --name alone).
FLAG_PAIRS = {"grad_checkpoint", "pack", "mask_prompt"}
# Fields whose option is not --<name with dashes>.
OPTION_NAMES = {"filters": "--filter"}


@dataclass(init=False)
class RunConfig:
    """``rvtune run``'s options as a typed object: each field is the option of the same name
    (dashes as underscores; ``rvtune run --help`` and docs/cli.md describe them) with the
    same default. Build it with keyword arguments; those are the *given* fields
    (:attr:`given`), which a preset or a config file never overrides::

        RunConfig(preset="tiny", iters=50, run_dir="runs/nb")

    Values are checked and converted as the command line would (``iters="50"`` is 50,
    ``learning_rate="fast"`` a :class:`UsageError`); ``None`` leaves the default.
    """

    # A YAML/TOML file of options (``--config``); read by :meth:`resolve`.
    config: str | None = None
    # The data: as ``rvtune prepare``.
    dataset: str = DEFAULT_DATASET
    dataset_adapter: str | None = None
    prompt_field: str = DEFAULT_PROMPT_FIELD
    completion_field: str = DEFAULT_COMPLETION_FIELD
    split: str = "train"
    revision: str | None = None
    config_name: str | None = None
    dataset_size: int | None = None
    dataset_option: tuple = ()
    formatter: str = "chatml"
    system: str | None = None
    instruction_template: str | None = None
    tokenizer: str | None = None
    seed: int = 0
    valid_fraction: float = 0.1
    test_fraction: float = 0.0
    on_bad_row: str = "fail"
    filters: tuple = ()
    limit: int | None = None
    # The model and the training: rvtune.core.jobs.TrainConfig's settings.
    model: str = DEFAULT_MODEL
    preset: str | None = None
    trainer: str = "mlx"
    bits: int = 4
    group_size: int = 64
    rank: int = 16
    alpha: float = 16.0
    dropout: float = 0.0
    target_modules: tuple = ALL_PROJECTIONS
    num_layers: int = -1
    batch_size: int = 4
    iters: int = 600
    epochs: int | None = None
    learning_rate: float = 1e-5
    warmup: int = 0
    lr_schedule: str = "constant"
    grad_accumulation: int = 1
    grad_checkpoint: bool = False
    pack: bool | None = None
    max_seq_length: int = 2048
    mask_prompt: bool = True
    steps_per_report: int = 10
    steps_per_eval: int = 200
    val_batches: int = 25
    save_every: int = 100
    keep_checkpoints: int = 3
    early_stop: int = 0
    select_by: str = "val_loss"
    train_on: str = "all"
    adapter_init: str | None = None
    log_to: str | None = None
    # Where it goes, and how it starts.
    run_dir: str | None = None
    resume: str | None = None
    force: bool = False
    sample_prompt: str | None = None
    sample_tokens: int = 64
    nproc: int = 1
    hostfile: str | None = None
    backend: str = "auto"

    def __init__(self, **options):
        names = option_names()
        for key in options:
            if key not in names and key != "filter":
                raise UsageError(f"run(): unknown option {key!r}; options: "
                                 f"{', '.join(sorted(names))}")
        for f in fields(self):
            setattr(self, f.name, f.default)
        given = set()
        for key, value in options.items():
            name = "filters" if key == "filter" else key
            if value is None:
                continue
            setattr(self, name, convert(name, value, option_flag(name)))
            given.add(name)
        #: The fields set explicitly (keyword arguments, flags, the config file).
        self.given = frozenset(given)
        #: The given fields that came from :attr:`config`; None until the file was read.
        self.from_file = None

    def options(self) -> dict:
        """Every field by name (tuples for the repeatable options)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def resolve(self, log=None, model: bool = True) -> "RunConfig":
        """A copy with the config file's options and then the preset's settings filled into
        the fields not given (``model=False``: leave the preset's model unbuilt). A given
        field always wins; a resumed run reads its options back instead (:func:`resumed`)."""
        config = read_config_file(self)
        config = config._copy() if config is self else config
        if config.preset and not config.resume:
            apply_preset(config, log, model=model)
        return config

    def _copy(self, values: dict | None = None) -> "RunConfig":
        config = copy.copy(self)
        for name, value in (values or {}).items():
            if name in MULTIPLE and isinstance(value, list):
                value = tuple(value)  # from JSON (another rank) or YAML
            setattr(config, name, value)
        return config


def option_names() -> list[str]:
    """The fields of :class:`RunConfig`, in ``rvtune run --help`` order."""
    return [f.name for f in fields(RunConfig)]


def option_flag(name: str) -> str:
    """``batch_size`` -> ``--batch-size`` (``filters`` -> ``--filter``)."""
    from .options import flag

    return flag(name, OPTION_NAMES)


def kind_of(name: str):
    """The kind of field ``name`` (rvtune.core.options.convert_value)."""
    if name in CHOICES:
        return CHOICES[name]
    if name in PATHS:
        return "path"
    default = next(f for f in fields(RunConfig) if f.name == name).type
    for kind in ("bool", "int", "float"):
        if default.startswith(kind):
            return kind
    return "str"


def convert(name: str, value, where: str):
    """``value`` as field ``name`` holds it, or a one-line :class:`UsageError` that starts
    with ``where`` (the same checks as the command line's and a config file's)."""
    from .options import convert_value

    return convert_value(kind_of(name), value, where, multiple=name in MULTIPLE)


def read_config_file(config: RunConfig) -> RunConfig:
    """A copy with the options of ``config.config`` in the fields not given (a no-op once
    read, as for ``rvtune run``, whose click options read it)."""
    if not config.config or config.from_file is not None:
        return config
    from .options import file_options

    path = Path(config.config).expanduser()
    names = [n for n in option_names() if n != "config"]
    values = {}
    for (name, key), value in file_options(path, "run", names, OPTION_NAMES,
                                           MULTIPLE).items():
        if name not in config.given:
            values[name] = convert(name, value, f"--config {path}: '{key}'")
    resolved = config._copy(values)
    resolved.given = config.given | set(values)
    resolved.from_file = frozenset(values)
    return resolved


def fill_preset(config: RunConfig) -> None:
    """The preset's settings into the fields not given; a setting that depends on a given
    one follows it (the warm-up is a share of ``iters``)."""
    from rvtune.training.cpu import on_cpu
    from rvtune.training.presets import get_preset

    settings = get_preset(config.preset).resolved(on_cpu())
    for name, value in settings.items():
        if name not in config.given:
            setattr(config, name, value)
    if "warmup" in config.given or config.epochs is not None:
        return
    if "iters" in config.given and settings.get("iters") and settings.get("warmup"):
        config.warmup = settings["warmup"] * config.iters // settings["iters"]
    if config.warmup >= config.iters:
        config.warmup = max(0, config.iters // 10)


def apply_preset(config: RunConfig, log=None, model: bool = True) -> None:
    """Fill the fields not given from the preset, its model included (built or found)."""
    from rvtune.training.presets import get_preset

    preset = get_preset(config.preset)
    fill_preset(config)
    if model and "model" not in config.given:
        config.model = str(preset.model(log=log))
    if model and preset.notice and log is not None:
        log(f"NOTE: {preset.notice}.")


def split_modules(values) -> tuple:
    """``("q_proj,v_proj", "o_proj")`` -> ``("q_proj", "v_proj", "o_proj")``."""
    names = []
    for value in values or ():
        names.extend(part.strip() for part in str(value).split(",") if part.strip())
    return tuple(names)


def _clean(value):
    return list(value) if isinstance(value, tuple) else value


def resumed(config: RunConfig) -> dict:
    """The options of the run in ``config.resume`` (its config.yaml), with the given ones
    that may change on resume; a given one that may not is a :class:`UsageError`. A dict
    (JSON-able: rank 0 reads the file and sends it to the other ranks)."""
    import yaml

    run_dir = Path(config.resume).expanduser()
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
    names = set(option_names())
    merged = {}
    for key, value in saved.items():
        name = str(key).replace("-", "_")
        if name not in names:
            continue  # an option this version does not have
        if value is not None:
            value = _clean(convert(name, value, f"{path}: '{name.replace('_', '-')}'"))
        merged[name] = value
    for name in sorted(config.given, key=option_names().index):
        if name in NOT_SAVED:
            continue
        value = getattr(config, name)
        if name in RESUMABLE:
            merged[name] = _clean(value)
        elif name == "target_modules":
            if list(split_modules(value)) != list(merged.get(name) or []):
                raise UsageError("--target-modules cannot change when resuming; start a new run")
        elif _clean(value) != merged.get(name):
            raise UsageError(f"--{name.replace('_', '-')} cannot change when resuming (the run "
                             f"used {merged.get(name)!r}); start a new run instead")
    for name, value in config.options().items():
        merged.setdefault(name, _clean(value))
    merged["resume"] = str(run_dir)
    merged["run_dir"] = str(run_dir)
    return merged


def rank_args(config: RunConfig) -> list[str]:
    """The given options, minus the launcher's, as ``rvtune run`` arguments for the ranks
    of a data-parallel run (the config file's options reach them through ``--config``)."""
    from rvtune.training.launch import LAUNCH_OPTIONS

    args = []
    from_file = config.from_file or frozenset()
    for name in option_names():
        if name in LAUNCH_OPTIONS or name not in config.given or name in from_file:
            continue
        value, opt = getattr(config, name), option_flag(name)
        if name == "config":
            value = str(Path(value).expanduser().resolve())
        if name in FLAG_PAIRS:
            args.append(opt if value else "--no-" + opt[2:])
        elif isinstance(value, bool):
            if value:
                args.append(opt)
        elif name in MULTIPLE:
            for item in value:
                args += [opt, str(item)]
        elif value is not None:
            args += [opt, str(value)]
    return args
