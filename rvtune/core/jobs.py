"""What flows between ``run`` and the plugins: train jobs and results, export requests.

Plain dataclasses, no heavy imports, so plugins and commands can share them cheaply.
"""

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

DEFAULT_MODEL = "mistralai/Mistral-7B-Instruct-v0.3"
#: The seven projections of a Mistral/Llama block, by their short names.
LR_SCHEDULES = ("constant", "cosine")
QUANT_BITS = (0, 2, 3, 4, 5, 6, 8)
GROUP_SIZES = (32, 64, 128)
SELECT_BY = ("val_loss", "exact", "assembles")
TRAIN_ON = ("all", "last")
ALL_PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass
class TrainConfig:
    """Every trainer setting; the defaults are the reference recipe (Mistral-7B, 4-bit QLoRA).

    ``run`` writes it to ``config.yaml`` in the run directory and ``--resume`` reads it back.
    """

    model: str = DEFAULT_MODEL
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
    learning_rate: float = 1e-5
    warmup: int = 0
    lr_schedule: str = "constant"
    grad_accumulation: int = 1
    grad_checkpoint: bool = False
    max_seq_length: int = 2048
    mask_prompt: bool = True
    steps_per_report: int = 10
    steps_per_eval: int = 200
    val_batches: int = 25
    save_every: int = 100
    keep_checkpoints: int = 3
    seed: int = 0
    force: bool = False
    #: Train for this many passes over the training rows instead of ``iters`` steps (the
    #: trainer derives ``iters`` from it once the data is batched).
    epochs: int | None = None
    #: Stop after this many validations without a new best (0 = never stop early).
    early_stop: int = 0
    #: What picks the best checkpoint: validation loss, or a generation score on a few
    #: validation rows (``exact`` / ``assembles``, the riscv evaluator's metrics).
    select_by: str = "val_loss"
    #: Multi-turn rows: loss on every assistant turn (``all``) or on the last one only.
    train_on: str = "all"
    #: Metrics loggers besides metrics.jsonl (``tensorboard``, ``wandb``, plugins').
    log_to: tuple = ()
    #: Start from this adapter (rvtune run, adapters.npz, mlx-lm or PEFT directory).
    adapter_init: str | None = None
    #: Sequence packing (the rows of a batch end to end in a few sequences, each row
    #: attending only to itself): True, False, or None = where the trainer finds it pays.
    pack: bool | None = None

    @property
    def scale(self) -> float:
        """The LoRA multiplier mlx-lm applies: ``alpha / rank`` (PEFT's convention)."""
        return self.alpha / self.rank

    def check(self) -> None:
        """Raise a one-line :class:`UsageError` for a setting that cannot work."""
        from .errors import UsageError

        def positive(option, value):
            if value is None or value <= 0:
                raise UsageError(f"{option} {value}: must be a positive whole number")

        import math

        for option, value in (("--learning-rate", self.learning_rate), ("--alpha", self.alpha),
                              ("--dropout", self.dropout)):
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise UsageError(f"{option} {value}: must be a finite number")
        positive("--rank", self.rank)
        if self.epochs is not None:
            positive("--epochs", self.epochs)
        else:
            positive("--iters", self.iters)
        positive("--batch-size", self.batch_size)
        positive("--grad-accumulation", self.grad_accumulation)
        positive("--steps-per-report", self.steps_per_report)
        positive("--steps-per-eval", self.steps_per_eval)
        positive("--save-every", self.save_every)
        positive("--keep-checkpoints", self.keep_checkpoints)
        if self.bits not in QUANT_BITS:
            raise UsageError(f"--bits {self.bits}: use one of "
                             f"{', '.join(map(str, QUANT_BITS))} (0 = plain LoRA)")
        if self.group_size not in GROUP_SIZES:
            raise UsageError(f"--group-size {self.group_size}: use one of "
                             f"{', '.join(map(str, GROUP_SIZES))}")
        if self.max_seq_length < 2:
            raise UsageError(f"--max-seq-length {self.max_seq_length}: must be at least 2")
        if self.alpha <= 0:
            raise UsageError(f"--alpha {self.alpha}: must be positive (scale = alpha / rank)")
        if not 0 <= self.dropout < 1:
            raise UsageError(f"--dropout {self.dropout}: must be at least 0 and below 1")
        if self.learning_rate <= 0:
            raise UsageError(f"--learning-rate {self.learning_rate}: must be positive")
        if self.warmup < 0 or (self.epochs is None and self.warmup >= self.iters):
            raise UsageError(f"--warmup {self.warmup}: must be at least 0 and below "
                             f"--iters {self.iters}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise UsageError(f"--lr-schedule {self.lr_schedule}: use one of "
                             f"{', '.join(LR_SCHEDULES)}")
        if self.val_batches == 0 or self.val_batches < -1:
            raise UsageError(f"--val-batches {self.val_batches}: use a positive number, "
                             "or -1 for the whole validation set")
        if self.early_stop < 0:
            raise UsageError(f"--early-stop {self.early_stop}: give a number of validations "
                             "(0 = never stop early)")
        if self.select_by not in SELECT_BY:
            raise UsageError(f"--select-by {self.select_by}: use one of {', '.join(SELECT_BY)}")
        if self.train_on not in TRAIN_ON:
            raise UsageError(f"--train-on {self.train_on}: use one of {', '.join(TRAIN_ON)}")
        if self.num_layers == 0 or self.num_layers < -1:
            raise UsageError(f"--num-layers {self.num_layers}: use a positive number, "
                             "or -1 for all layers")

    def to_dict(self) -> dict:
        data = asdict(self)
        data["target_modules"] = list(self.target_modules)
        data["log_to"] = list(self.log_to)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        """Build from a dict, ignoring keys that are not trainer settings."""
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        if "target_modules" in values:
            values["target_modules"] = tuple(values["target_modules"])
        if "log_to" in values:
            values["log_to"] = _names(values["log_to"] or ())
        return cls(**values)


def _names(value) -> tuple:
    """``"a,b"`` or ``["a", "b,c"]`` -> ``("a", "b", "c")``."""
    items = [value] if isinstance(value, str) else list(value)
    return tuple(part.strip() for item in items for part in str(item).split(",")
                 if part.strip())


class TrainCallback:
    """Hooks a :class:`TrainJob` calls on rank 0; subclass and override what you need."""

    def on_train_report(self, info: dict) -> None:
        """After every ``--steps-per-report`` steps: step, loss, learning rate, speed."""

    def on_val_report(self, info: dict) -> None:
        """After each validation: step and validation loss."""

    def on_checkpoint(self, path: Path, step: int) -> None:
        """After a checkpoint was written."""


@dataclass
class TrainJob:
    """One training job: settings, prepared data, where to write, and who we are."""

    config: TrainConfig
    data_dir: Path
    run_dir: Path
    resume: bool = False
    rank: int = 0
    world_size: int = 1
    callbacks: list = field(default_factory=list)
    log: object = None  # callable(str) for human-readable lines; None prints

    @property
    def is_main(self) -> bool:
        """True on the process that writes files and prints (rank 0)."""
        return self.rank == 0


@dataclass
class TrainResult:
    """What a finished (or interrupted) training left behind."""

    adapter_dir: Path | None
    steps: int
    interrupted: bool = False
    train_loss: float | None = None
    val_loss: float | None = None
    trainable_parameters: int = 0
    total_parameters: int = 0
    seconds: float = 0.0
    checkpoint: Path | None = None
    files: dict = field(default_factory=dict)
    #: The step whose adapter is kept as the best one (``RUN/best-adapters``), its score
    #: and what the score is (``val_loss``, ``exact``, ``assembles``).
    best_step: int | None = None
    best_score: float | None = None
    best_metric: str = "val_loss"
    stopped_early: bool = False
    #: Passes over the training rows done (a fraction when a run stops mid-epoch).
    epochs: float | None = None


@dataclass
class ExportRequest:
    """What an exporter is asked to do: which run, where to write, with which options."""

    run_dir: Path
    out: Path
    options: dict = field(default_factory=dict)
