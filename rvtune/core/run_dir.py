"""The run directory of ``rvtune run`` (docs/run-directory.md): picking a new one, taking
over or clearing one whose run never checkpointed, ``config.yaml``, ``runs/latest``."""

import os
import time
from pathlib import Path

from .errors import UsageError
from .run_config import NOT_SAVED


def new_run_dir(value, taken=()) -> Path:
    """``value``, or ``runs/<timestamp>`` (``-2``, ``-3``... when taken)."""
    if value:
        return Path(value).expanduser()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path, n = Path("runs") / stamp, 1
    while path.exists() or path in taken:
        n += 1
        path = Path("runs") / f"{stamp}-{n}"
    return path


def never_checkpointed(path: Path) -> bool:
    """A run directory whose run stopped (killed, failed) before its first checkpoint: it
    holds nothing worth keeping, so a new run may take it over."""
    from rvtune.training.checkpoint import list_checkpoints

    return ((path / "config.yaml").is_file() and not list_checkpoints(path / "checkpoints")
            and not (path / "adapters").exists() and not (path / "adapters.npz").exists())


def claim_new_run_dir(path: Path, log) -> None:
    """Refuse a directory holding anything but a never-checkpointed run (which is cleared)."""
    if not path.exists():
        return
    if not path.is_dir():
        raise UsageError(f"--run-dir {path}: exists and is not a directory; pick another")
    if not any(path.iterdir()):
        return
    if not never_checkpointed(path):
        raise UsageError(f"--run-dir {path}: already exists and is not empty; pick another "
                         f"or continue that run with --resume {path}")
    log(f"{path}: its earlier run stopped before its first checkpoint; starting over there")
    clear(path)


def clear(path: Path, keep=()) -> None:
    """Empty ``path`` but for the names in ``keep``."""
    import shutil

    for child in path.iterdir():
        if child.name in keep:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def drop_unresumable(run_dir: Path, made_parent: Path | None = None,
                     existed: bool = False) -> None:
    """A run that failed before its first checkpoint leaves nothing behind."""
    import shutil

    if never_checkpointed(run_dir):
        if existed:
            clear(run_dir)
            return
        shutil.rmtree(run_dir, ignore_errors=True)
        if made_parent is not None:
            try:
                made_parent.rmdir()  # only when empty: another run may have landed there
            except OSError:
                pass


def point_latest_at(run_dir: Path) -> None:
    """Make ``runs/latest`` (beside the run) a symlink to ``run_dir``, replaced atomically,
    so `rvtune generate --run runs/latest` and `rvtune export --fuse` find the newest run.
    Only for runs under a directory called ``runs``; a failure here never stops training."""
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


def write_config(run_dir: Path, options: dict) -> None:
    """``config.yaml``: the run's options (not how it was started), for ``--resume``."""
    import yaml

    from rvtune import __version__

    from .atomic import atomic_open

    body = {k.replace("_", "-"): list(v) if isinstance(v, tuple) else v
            for k, v in options.items() if k not in NOT_SAVED}
    with atomic_open(run_dir / "config.yaml", "w", encoding="utf-8") as fh:
        fh.write(f"# rvtune {__version__}: the options this run used. `rvtune run --resume "
                 f"{run_dir}` reads them back;\n# `rvtune run --config {run_dir}/config.yaml "
                 "--run-dir NEW` repeats the run.\n")
        yaml.safe_dump({"run": body}, fh, sort_keys=False)
