"""Settings for MLX's CUDA backend, applied before MLX is imported (docs/trainer.md, "Memory on
NVIDIA GPUs").

MLX's CUDA backend records operations into a CUDA graph and keeps *every input of every
recorded operation* alive until that graph has been launched and has finished: a transient
buffer (a dense copy of a weight, an activation read once) is freed only when its graph
completes, not after its last use. A graph is cut after ``MLX_MAX_OPS_PER_BUFFER`` operations
or once its inputs reach ``MLX_MAX_MB_PER_BUFFER`` (counted in millions of *elements*, 2^20, not
bytes). On an H100/H200 the defaults are 100 operations and 1,000: up to ~2 GB of 16-bit
transients held per graph, and up to ten graphs may be in flight
(``benchmarks/mlx_memory_probes.py``, probe ``graph_retention``, shows it in isolation).
Metal's own defaults are 40-50; the CPU backend records no graphs.

rvtune therefore caps the graph at :data:`GRAPH_MB` on Linux (where MLX's GPU is CUDA) unless
the user set ``MLX_MAX_MB_PER_BUFFER`` themselves; ``RVTUNE_CUDA_GRAPH_MB=off`` keeps MLX's
default. macOS (Metal) is left alone.
"""

from __future__ import annotations

import os
import sys

ENV = "RVTUNE_CUDA_GRAPH_MB"
MLX_ENV = "MLX_MAX_MB_PER_BUFFER"
#: Millions of input elements per CUDA graph (MLX's unit). Chosen from the side-by-side in
#: docs/benchmarks.md (section 13): it halves the 7B step's peak (27.4 -> 12.8 GB at 4 x 256)
#: for 10-20% of its speed; lower caps save little more and cost more speed.
GRAPH_MB = 64
#: MLX's own graph size on an H100, H200 or B200 (``get_graph_limits`` in
#: mlx/backend/cuda/device.cpp), the GPUs rvtune is measured on; MLX picks less on an A100 (400).
MLX_DEFAULT_MB = 1000


def limit_graph_memory() -> str | None:
    """Set ``MLX_MAX_MB_PER_BUFFER`` for MLX's CUDA backend unless it is set, or rvtune's
    ``RVTUNE_CUDA_GRAPH_MB`` says otherwise (a number, or ``off``). Returns the value now in
    effect (None: MLX's default). Must run before ``mlx.core`` is imported; does nothing
    afterwards or off Linux."""
    if MLX_ENV in os.environ:
        return os.environ[MLX_ENV]
    if not sys.platform.startswith("linux") or "mlx.core" in sys.modules:
        return None
    choice = os.environ.get(ENV, "").strip().lower()
    if choice in ("off", "0", "none"):
        return None
    if choice and not choice.isdigit():
        from rvtune.core.errors import UsageError

        raise UsageError(f"{ENV}={choice}: expected a positive integer or 'off'")
    os.environ[MLX_ENV] = choice or str(GRAPH_MB)
    return os.environ[MLX_ENV]


def graph_capped() -> bool:
    """Whether MLX's CUDA graphs are capped at :data:`GRAPH_MB` or less here (what the memory
    estimate's CUDA calibration was measured with)."""
    return graph_size() <= GRAPH_MB


def graph_size() -> int:
    """Millions of input elements per CUDA graph in effect here (``MLX_MAX_MB_PER_BUFFER``, else
    MLX's own default for the GPUs rvtune is measured on)."""
    value = os.environ.get(MLX_ENV, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else MLX_DEFAULT_MB


def on_cuda() -> bool:
    """Whether MLX computes on its CUDA backend here (imports MLX)."""
    import mlx.core as mx

    backend = getattr(mx, "cuda", None)  # absent from some MLX builds
    return mx.default_device() == mx.gpu and backend is not None and backend.is_available()


def graph_note() -> str | None:
    """One line for the run log about the CUDA graph size, or None off CUDA."""
    if not on_cuda():
        return None
    if graph_capped():
        return (f"CUDA graphs capped at {os.environ[MLX_ENV]} M input elements "
                f"({MLX_ENV}): transients are freed soon after use; {ENV}=512 is faster "
                "for a 7B model at about 1.6x the memory (docs/trainer.md)")
    size = (f"of up to {os.environ[MLX_ENV]} M input elements ({MLX_ENV})" if MLX_ENV in os.environ
            else "at MLX's default size")
    return (f"CUDA graphs {size}, above rvtune's cap of {GRAPH_MB}: each graph keeps its "
            "transients until it has run (counted in the memory estimate: for a 7B model up to "
            f"~14 GB more); unset {MLX_ENV} and {ENV} for the cap")
