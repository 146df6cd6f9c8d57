"""Fast settings for MLX on the CPU (docs/trainer.md, "Training on the CPU").

Measured on a 2-core x86_64 machine (mlx 0.32.4, 2026-12-03): the Linux ``mlx[cpu]`` wheel
links the reference (netlib) BLAS, whose float32 matrix product runs at ~1.8 GFLOP/s, 60x
slower than OpenBLAS on the same cores; float16 products and 4-bit quantized products have no
BLAS path at all and are as slow. So on the CPU rvtune

* loads an optimized BLAS into the process before MLX (``RVTUNE_BLAS`` names one; otherwise
  the usual OpenBLAS / BLIS / MKL locations are tried), so MLX's ``cblas_sgemm`` binds to it;
* computes in float32, and the ``smollm2`` preset trains the base unquantized (``--bits 0``).
"""

from __future__ import annotations

import os
import sys

#: Where Debian/Ubuntu, Fedora and conda put an optimized BLAS with the standard CBLAS names.
CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3",
    "/usr/lib/aarch64-linux-gnu/openblas-pthread/libblas.so.3",
    "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
    "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
    "/usr/lib64/libopenblas.so.0",
    "/usr/lib/x86_64-linux-gnu/blis-pthread/libblas.so.3",
    "/usr/lib/libopenblas.so.0",
)
HINT = ("MLX on this CPU uses the slow reference BLAS; install OpenBLAS (Debian/Ubuntu: "
        "apt-get install libopenblas0-pthread) for about 60x faster float32 matrix products")

_loaded: str | None = None
_tried = False


def fast_blas() -> str | None:
    """Load an optimized BLAS globally before MLX is imported (Linux only); return its path.

    ``RVTUNE_BLAS=off`` turns this off; ``RVTUNE_BLAS=/path/libblas.so`` picks the library.
    Does nothing once ``mlx.core`` is imported (its symbols are bound by then).
    """
    global _loaded, _tried
    if _tried:
        return _loaded
    _tried = True
    choice = os.environ.get("RVTUNE_BLAS", "")
    if not sys.platform.startswith("linux") or choice.lower() in ("off", "0", "none"):
        return None
    if "mlx.core" in sys.modules:
        return None
    import ctypes

    for path in ([choice] if choice else CANDIDATES):
        if not os.path.exists(path):
            continue
        try:
            ctypes.CDLL(path, mode=os.RTLD_GLOBAL | os.RTLD_NOW)
        except OSError:
            continue
        _loaded = path
        break
    return _loaded


def on_cpu() -> bool:
    """True when MLX computes on the CPU (no Metal or CUDA device)."""
    import mlx.core as mx

    return mx.default_device() == mx.cpu


def blas_note() -> str | None:
    """One line for the run log about the CPU's BLAS, or None off the CPU."""
    if not on_cpu():
        return None
    if _loaded:
        return f"CPU backend: float32 compute, BLAS from {_loaded}"
    if sys.platform.startswith("linux"):
        return f"CPU backend: float32 compute; {HINT}"
    return "CPU backend: float32 compute"
