"""Metrics loggers (``rvtune run --log-to tensorboard,wandb``): every train and validation
record also goes to each logger named. ``metrics.jsonl`` stays the source of truth; a logger
only copies it elsewhere. Loggers come from the ``register_loggers`` hook; the built-ins are
in :mod:`rvtune.plugins.loggers`."""

from pathlib import Path

from rvtune.core.jobs import TrainCallback


class Loggers(TrainCallback):
    """The loggers of one run as a :class:`TrainCallback` and a context manager that closes
    them (also when training fails or is interrupted)."""

    def __init__(self, loggers=()):
        self.loggers = list(loggers)

    def on_train_report(self, info: dict) -> None:
        for logger in self.loggers:
            logger.log({"type": "train", **info})

    def on_val_report(self, info: dict) -> None:
        for logger in self.loggers:
            logger.log({"type": "val", **info})

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for logger in self.loggers:
            logger.close()
        self.loggers = []


def check_loggers(names) -> None:
    """Fail before training starts for an unknown logger or a missing package (a logger
    class may name the module it needs and how to install it in ``requires``)."""
    import importlib.util

    from rvtune.core.errors import MissingDependencyError
    from rvtune.core.plugins import registry

    reg = registry()
    for name in names:
        cls = reg.get("logger", name, option="--log-to")
        module, install = getattr(cls, "requires", (None, None))
        if module and importlib.util.find_spec(module) is None:
            raise MissingDependencyError(f"--log-to {name} needs the {module} package: "
                                         f"{install}")


def open_loggers(names, run_dir: Path, config: dict) -> Loggers:
    """Build the loggers ``names`` (registry names); an unknown name lists the known ones
    and a missing package says what to install."""
    from rvtune.core.plugins import registry

    reg = registry()
    classes = [reg.get("logger", name, option="--log-to") for name in names]
    opened = Loggers()
    try:
        for cls in classes:
            opened.loggers.append(cls(Path(run_dir), dict(config)))
    except BaseException:
        opened.__exit__(None, None, None)
        raise
    return opened


def scalars(record: dict) -> dict:
    """The numeric values of a record, under ``train/NAME`` or ``val/NAME`` (step, epoch and
    booleans left out)."""
    kind = record.get("type", "train")
    return {f"{kind}/{key}": float(value) for key, value in record.items()
            if key not in ("type", "step") and isinstance(value, (int, float))
            and not isinstance(value, bool)}
