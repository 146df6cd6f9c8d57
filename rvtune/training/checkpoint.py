"""Checkpoints that resume exactly: adapters, optimizer state, step and RNG state.

Each checkpoint is a directory ``checkpoints/step-NNNNNNN/`` written beside itself under a
temporary name and renamed into place, so a crash or kill mid-save leaves the previous
checkpoints untouched; ``state.json`` is written last and marks a checkpoint complete.
"""

import json
import os
import shutil
from pathlib import Path

from rvtune.core.atomic import atomic_path
from rvtune.core.errors import DataError

PREFIX = "step-"


def checkpoint_dir(root: Path, step: int) -> Path:
    return Path(root) / f"{PREFIX}{step:07d}"


def save_checkpoint(root: Path, step: int, adapters: dict, optimizer_state: dict,
                    state: dict, keep: int = 3) -> Path:
    """Write checkpoint ``step`` atomically and keep only the newest ``keep`` ones.

    ``adapters`` and ``optimizer_state`` are flat ``{name: mx.array}`` dicts
    (``tree_flatten``); ``state`` is JSON (step, RNG keys, batch position, ...).
    """
    import mlx.core as mx

    root = Path(root)
    target = checkpoint_dir(root, step)
    with atomic_path(target) as tmp:
        tmp.mkdir()
        mx.save_safetensors(str(tmp / "adapters.safetensors"), adapters)
        mx.save_safetensors(str(tmp / "optimizer.safetensors"), optimizer_state)
        with open(tmp / "state.json", "w", encoding="utf-8") as fh:
            json.dump({**state, "step": step}, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
    for old in list_checkpoints(root)[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    for leftover in root.glob(f".{PREFIX}*"):  # temporaries of an earlier killed save
        shutil.rmtree(leftover, ignore_errors=True)
    return target


def list_checkpoints(root: Path) -> list:
    """Complete checkpoint directories, oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir()
             if p.is_dir() and p.name.startswith(PREFIX) and (p / "state.json").exists()]
    return sorted(found, key=lambda p: p.name)


def load_checkpoint(path: Path) -> tuple:
    """``(adapters, optimizer_state, state)`` of one checkpoint; a damaged one is a
    :class:`DataError`."""
    import mlx.core as mx

    path = Path(path)
    try:
        state = json.loads((path / "state.json").read_text())
        adapters = mx.load(str(path / "adapters.safetensors"))
        optimizer = mx.load(str(path / "optimizer.safetensors"))
    except Exception as exc:
        raise DataError(f"checkpoint {path} is damaged ({type(exc).__name__}: {exc}); "
                        "delete it to resume from the one before") from None
    return adapters, optimizer, state


def latest_checkpoint(root: Path, warn=None) -> tuple:
    """``(path, adapters, optimizer_state, state)`` of the newest loadable checkpoint, or
    ``None`` when there is none. Damaged ones are skipped with a warning."""
    for path in reversed(list_checkpoints(root)):
        try:
            return (path, *load_checkpoint(path))
        except DataError as exc:
            if warn:
                warn(f"skipping {exc}")
    return None
