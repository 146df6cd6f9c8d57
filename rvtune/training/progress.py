"""What people watch and what stays behind: a live bar, ``metrics.jsonl``, ``run.log`` and
the loss-curve PNG. Only rank 0 creates these (the others get a silent one)."""

import json
import sys
import time
from pathlib import Path


class RunLog:
    """Print a line and append it to ``run.log`` (nothing at all when not ``enabled``)."""

    def __init__(self, path: Path | None, enabled: bool = True, echo=None):
        self.path = Path(path) if path else None
        self.enabled = enabled
        self.echo = echo or (lambda line: print(line, flush=True))

    def __call__(self, line: str) -> None:
        if not self.enabled:
            return
        self.echo(line)
        self.write(line)

    def write(self, line: str) -> None:
        """Append to ``run.log`` only."""
        if self.enabled and self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")


def read_metrics(path: Path) -> list:
    """The records of a ``metrics.jsonl`` (a torn last line is ignored)."""
    path = Path(path)
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def truncate_metrics(path: Path, step: int) -> None:
    """Drop records after ``step`` (a resumed run repeats those steps)."""
    from rvtune.core.atomic import atomic_open

    path = Path(path)
    if not path.exists():
        return
    kept = [r for r in read_metrics(path) if r.get("step", 0) <= step]
    with atomic_open(path, "w", encoding="utf-8") as fh:
        for record in kept:
            fh.write(json.dumps(record) + "\n")


class Progress:
    """The live bar (step, loss, tokens/s, peak memory, ETA) plus ``metrics.jsonl``."""

    def __init__(self, metrics_path: Path | None, total: int, start: int, log: RunLog,
                 enabled: bool = True, live: bool | None = None, per_epoch: int | None = None):
        self.metrics_path = Path(metrics_path) if metrics_path else None
        self.per_epoch = per_epoch  # set when training by --epochs: lines show the epoch
        self.total, self.start = total, start
        self.log = log
        self.enabled = enabled
        self.live = enabled and (sys.stdout.isatty() if live is None else live)
        self._bar = None
        self._task = None

    def __enter__(self):
        if self.live:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress as Bar,
                                       TextColumn, TimeElapsedColumn, TimeRemainingColumn)

            self._bar = Bar(
                TextColumn("[bold]train"), BarColumn(), MofNCompleteColumn(),
                *([TextColumn("{task.fields[where]}")] if self.per_epoch else []),
                TextColumn("loss {task.fields[loss]}"), TextColumn("{task.fields[tps]} tok/s"),
                TextColumn("peak {task.fields[mem]}"), TimeElapsedColumn(),
                TextColumn("ETA"), TimeRemainingColumn(), transient=False)
            self._bar.__enter__()
            self._task = self._bar.add_task("train", total=self.total, completed=self.start,
                                            loss="-", tps="-", mem="-",
                                            where=self._where(self.start))
            console = self._bar.console
            self.log.echo = lambda line: console.print(line, markup=False, highlight=False)
        return self

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.__exit__(*exc)
            self.log.echo = lambda line: print(line, flush=True)
            self._bar = None

    def note(self, line: str) -> None:
        """Say what is happening now (above the bar, and in run.log)."""
        if self.enabled:
            self.log(line)

    def advance(self, step: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=step, where=self._where(step))

    def _record(self, record: dict) -> None:
        if self.enabled and self.metrics_path:
            with open(self.metrics_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")

    def train(self, info: dict) -> None:
        """Record and show a training report."""
        if not self.enabled:
            return
        self._record({"type": "train", **info})
        if self._bar is not None:
            self._bar.update(self._task, loss=f"{info['loss']:.3f}",
                             tps=f"{info['tokens_per_second']:.0f}",
                             mem=f"{info['peak_memory_gb']:.2f} GB")
        eta = info.get("eta_seconds")
        line = (f"{self._where(info['step'])}  loss {info['loss']:.4f}  "
                f"lr {info['learning_rate']:.2e}  {info['tokens_per_second']:.0f} tok/s  "
                f"peak {info['peak_memory_gb']:.2f} GB"
                + (f"  ETA {_clock(eta)}" if eta is not None else ""))
        if self._bar is not None:
            self.log.write(line)
        else:
            self.log(line)

    def val(self, info: dict) -> None:
        """Record and show a validation report."""
        if not self.enabled:
            return
        self._record({"type": "val", **info})
        self.log(f"{self._where(info['step'])}  validation loss {info['val_loss']:.4f} "
                 f"({info['val_seconds']:.1f}s)"
                 + (" before training" if info["step"] == 0 else "")
                 + "".join(f"  {k} {info[k]:.3f}" for k in ("exact", "assembles") if k in info)
                 + ("  new best" if info.get("best") else ""))


    def _where(self, step: int) -> str:
        if not self.per_epoch or not step:
            return f"step {step}/{self.total}"
        epoch, index = divmod(step - 1, self.per_epoch)
        epochs = -(-self.total // self.per_epoch)
        return (f"epoch {epoch + 1}/{epochs} step {index + 1}/{self.per_epoch} "
                f"(step {step}/{self.total})")


COMPILE_TIMES = "compile-times.json"


def cuda_kernel_cache() -> Path:
    """Where MLX's CUDA backend keeps the kernels it compiles (``MLX_PTX_CACHE_DIR``, else
    ``<tmp>/mlx/<version>/ptx``): a machine compiles each kernel once."""
    import os
    import tempfile

    import mlx.core as mx

    configured = os.environ.get("MLX_PTX_CACHE_DIR")
    return Path(configured) if configured else (
        Path(tempfile.gettempdir()) / "mlx" / mx.__version__ / "ptx")


def kernel_note() -> str | None:
    """On a CUDA GPU, what kernel compilation to expect before the first step: none cached
    yet (minutes, once per machine) or how many are; None elsewhere (Metal ships its
    kernels precompiled, the CPU compiles in seconds)."""
    from .launch import cuda_available

    if not cuda_available():
        return None
    cache = cuda_kernel_cache()
    cached = len(list(cache.glob("*.ptx"))) if cache.is_dir() else 0
    if not cached:
        return (f"first MLX run on this machine: its CUDA kernels compile now, about 2-4 "
                f"minutes on an H200 (once; kept in {cache})")
    return f"{cached} compiled CUDA kernel modules cached in {cache}; new ones compile once"


def compile_seconds(key: str) -> float | None:
    """How long the first training step took last time for ``key`` (device, model,
    bits, batch), from the rvtune cache; None when never measured here."""
    from .tiny import cache_root

    try:
        return float(json.loads((cache_root() / COMPILE_TIMES).read_text())[key])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remember_compile_seconds(key: str, seconds: float) -> None:
    """Store the first step's time for ``key`` (a cache, so failures are ignored)."""
    from rvtune.core.atomic import atomic_open

    from .tiny import cache_root

    path = cache_root() / COMPILE_TIMES
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            data = {}
    except (OSError, ValueError):
        data = {}
    data[key] = round(seconds, 1)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(path, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(data, indent=1, sort_keys=True))
    except OSError:
        pass


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


def plot_losses(metrics_path: Path, out: Path) -> Path | None:
    """Draw train and validation loss against step into ``out`` (PNG); None if no data."""
    records = read_metrics(metrics_path)
    train = [(r["step"], r["loss"]) for r in records if r.get("type") == "train"]
    val = [(r["step"], r["val_loss"]) for r in records if r.get("type") == "val"]
    if not train and not val:
        return None
    try:
        import matplotlib
    except ImportError:  # a plot is a nicety: never fail a finished run over it
        return None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rvtune.core.atomic import atomic_path

    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    if train:
        ax.plot(*zip(*train), label="train")
    if val:
        ax.plot(*zip(*val), marker="o", label="validation")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("rvtune training loss")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_path(out, suffix=".png") as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return Path(out)
