"""Training length in epochs or steps, the best adapter by validation, and early stopping.

The best adapter lives in ``RUN/best-adapters/`` (an mlx-lm adapter directory, like
``RUN/adapters/`` which holds the last one); ``export``, ``generate``, ``eval`` and
``rvtune.load`` pick it unless told ``--checkpoint last|STEP``. What the tracker knows
(best score, its step, validations since) travels in every checkpoint, so a resumed run
makes the same choices as an uninterrupted one.
"""

from dataclasses import dataclass, field

BEST_DIR = "best-adapters"


def training_length(config, train_rows: int, log) -> int:
    """The number of steps: ``--iters``, or ``--epochs`` times the batches per epoch. Says
    which it is, and the other one, before training starts."""
    per_epoch = -(-train_rows // config.batch_size)
    if config.epochs:
        iters = config.epochs * per_epoch
        log(f"--epochs {config.epochs}: {per_epoch} steps per epoch ({train_rows} rows, "
            f"batch {config.batch_size}) -> {iters} steps")
        return iters
    log(f"--iters {config.iters}: {config.iters / per_epoch:.2f} epochs of {per_epoch} steps "
        f"({train_rows} rows, batch {config.batch_size})")
    return config.iters


@dataclass
class BestTracker:
    """Keeps the best validation score seen and counts validations without a better one.

    ``lower`` is True for a loss, False for a score where higher wins (exact match).
    """

    metric: str = "val_loss"
    lower: bool = True
    patience: int = 0
    best: float | None = None
    step: int | None = None
    since: int = 0
    history: list = field(default_factory=list)

    def update(self, step: int, value: float) -> bool:
        """Record a validation; True when it is a new best (the caller saves it)."""
        better = self.best is None or (value < self.best if self.lower else value > self.best)
        if better:
            self.best, self.step, self.since = value, step, 0
        else:
            self.since += 1
        return better

    @property
    def exhausted(self) -> bool:
        """True when ``patience`` validations in a row brought nothing better."""
        return bool(self.patience) and self.since >= self.patience

    def why_stopped(self, step: int) -> str:
        return (f"Early stop at step {step}: {self.metric} has not improved for "
                f"{self.since} validations (--early-stop {self.patience}); best "
                f"{self.best:.4f} at step {self.step}")

    def state(self) -> dict:
        """What a checkpoint stores."""
        return {"metric": self.metric, "best": self.best, "step": self.step,
                "since": self.since}

    def restore(self, state: dict | None) -> None:
        if state and state.get("metric") == self.metric:
            self.best, self.step, self.since = state["best"], state["step"], state["since"]


#: Validation rows answered (greedily) for ``--select-by exact|assembles``.
SELECT_ROWS = 8


class GenerationScore:
    """``--select-by exact|assembles``: answer the first :data:`SELECT_ROWS` validation rows
    greedily and score them with the ``riscv`` evaluator; the share that passes ``metric``
    picks the best adapter (higher wins). The random state is left as it was, so training
    continues exactly as without it."""

    def __init__(self, metric: str, rows: list, manifest: dict, tokenizer):
        from rvtune.plugins.riscv_evaluator import RiscvEvaluator

        self.metric = metric
        self.rows = rows[:SELECT_ROWS]
        self.stop_strings = tuple(manifest.get("stop_strings") or ())
        self.has_bos = bool(manifest.get("has_bos"))
        longest = max((len(tokenizer.encode(r["target"])) for r in self.rows), default=1)
        self.max_tokens = min(256, 2 * longest + 8)
        self.evaluator = RiscvEvaluator()
        self.evaluator.prepare()  # a missing assembler is said before training starts

    def __call__(self, model, tokenizer) -> float:
        import mlx.core as mx

        from rvtune.evaluation.generate import generate_batch

        key = mx.random.state[0].tolist()
        try:
            answers = generate_batch(model, tokenizer, [r["prefix"] for r in self.rows],
                                     batch_size=len(self.rows), max_tokens=self.max_tokens,
                                     stop_strings=self.stop_strings, has_bos=self.has_bos)
        finally:
            mx.random.seed((int(key[0]) << 32) | int(key[1]))  # as resuming does
        scores = self.evaluator.score([r["target"] for r in self.rows], answers)
        decided = [s[self.metric] for s in scores if s.get(self.metric) is not None]
        return sum(map(bool, decided)) / len(decided) if decided else 0.0
