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
                    state: dict, keep: int = 3, adapter_config: dict | None = None) -> Path:
    """Write checkpoint ``step`` atomically and keep only the newest ``keep`` ones.

    ``adapters`` and ``optimizer_state`` are flat ``{name: mx.array}`` dicts
    (``tree_flatten``); ``state`` is JSON (step, RNG keys, batch position, ...). With
    ``adapter_config`` (mlx-lm's ``adapter_config.json``) the checkpoint is also an adapter
    directory that ``--checkpoint STEP`` and ``mlx_lm.load`` read.
    """
    import mlx.core as mx

    root = Path(root)
    target = checkpoint_dir(root, step)
    bad = first_non_finite(adapters)
    if bad is not None:
        from rvtune.core.errors import RvtuneError

        kept = list_checkpoints(root)
        raise RvtuneError(f"step {step}: adapter tensor '{bad}' holds NaN or inf, so no "
                          "checkpoint was written and training stopped"
                          + (f"; the last good checkpoint, {kept[-1]}, is kept" if kept else "")
                          + ". Try a lower --learning-rate or a --warmup, in a new run")
    with atomic_path(target) as tmp:
        tmp.mkdir()
        mx.save_safetensors(str(tmp / "adapters.safetensors"), adapters)
        mx.save_safetensors(str(tmp / "optimizer.safetensors"), optimizer_state)
        if adapter_config is not None:
            (tmp / "adapter_config.json").write_text(json.dumps(adapter_config, indent=2))
        with open(tmp / "state.json", "w", encoding="utf-8") as fh:
            json.dump({**state, "step": step}, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
    for old in list_checkpoints(root)[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    for leftover in root.glob(f".{PREFIX}*"):  # temporaries of an earlier killed save
        shutil.rmtree(leftover, ignore_errors=True)
    return target


def first_non_finite(arrays: dict) -> str | None:
    """The name of the first array holding NaN or inf, or None (mlx or numpy arrays)."""
    import numpy as np

    for name, array in arrays.items():
        if type(array).__module__.startswith("mlx"):
            import mlx.core as mx

            if not mx.all(mx.isfinite(array)).item():
                return name
        elif not np.isfinite(np.asarray(array)).all():
            return name
    return None


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
