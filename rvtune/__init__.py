"""rvtune: plugin-based LoRA / QLoRA fine-tuning with MLX."""

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("rvtune")
"""Marker for plugin hook implementations: ``@rvtune.hookimpl``."""


def load(model=None, adapter_path=None, **kwargs):
    """Load a model and an adapter for ``mlx_lm.generate``; returns ``(model, tokenizer)``.

    ``adapter_path`` may be ``adapters.npz``, an mlx-lm or PEFT adapter directory, or a run
    directory; ``model`` may be omitted when the adapter names its base, or be a run
    directory itself. See :func:`rvtune.inference.load` (imported only when called, so
    ``import rvtune`` stays cheap).
    """
    from rvtune.inference import load as _load
    from rvtune.training import before_mlx

    before_mlx()

    return _load(model, adapter_path, **kwargs)


def run(config=None, **options):
    """Fine-tune from Python exactly as ``rvtune run``: a :class:`RunConfig` or its fields as
    keyword arguments; see :func:`rvtune.api.run`."""
    from rvtune.api import run as _run

    return _run(config, **options)


def __getattr__(name):
    # rvtune.RunConfig / rvtune.RunResult, imported on first use (``import rvtune`` stays cheap).
    if name in ("RunConfig", "RunResult"):
        from rvtune import api

        return getattr(api, name)
    raise AttributeError(f"module 'rvtune' has no attribute {name!r}")


def prepare(**options):
    """Prepare data exactly as ``rvtune prepare``; see :func:`rvtune.api.prepare`."""
    from rvtune.api import prepare as _prepare

    return _prepare(**options)


def export(**options):
    """Export an adapter exactly as ``rvtune export``; see :func:`rvtune.api.export`."""
    from rvtune.api import export as _export

    return _export(**options)


def evaluate(**options):
    """Evaluate exactly as ``rvtune eval``; see :func:`rvtune.api.evaluate`."""
    from rvtune.api import evaluate as _evaluate

    return _evaluate(**options)
