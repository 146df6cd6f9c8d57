"""rvtune: plugin-based LoRA / QLoRA fine-tuning with MLX."""

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("rvtune")
"""Marker for plugin hook implementations: ``@rvtune.hookimpl``."""
