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
    from rvtune.training.cpu import fast_blas

    fast_blas()

    return _load(model, adapter_path, **kwargs)


def run(**options):
    """Fine-tune from Python exactly as ``rvtune run``; see :func:`rvtune.api.run`."""
    from rvtune.api import run as _run

    return _run(**options)


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
