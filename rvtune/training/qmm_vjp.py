"""A faster backward pass through 4-bit (quantized) linear layers.

For QLoRA the base weight is frozen, so its backward pass only needs the input gradient
``dx = dy @ W``: the *non-transposed* product with the quantized weight. MLX computes it with
``quantized_matmul(..., transpose=False)``, which on the CUDA backend runs a slow generic
kernel. Here the forward pass keeps the quantized kernel, and a custom VJP dequantizes the
weight (transiently, one layer at a time) and uses an ordinary matmul for ``dx``.

It is a pure speed switch: gradients equal the plain path's (see
``tests/training/test_qmm_vjp.py``). ``auto`` turns it on where it wins: on the CUDA backend,
for calls of at least ``DEFAULT_BACKWARD_ROWS`` rows (it costs a dequantize per weight and
step, which few rows do not pay back); off elsewhere (Metal's and the CPU's quantized kernels
handle both layouts well).
"""

from functools import lru_cache

MODES = ("auto", "on", "off")
#: Rows (batch x tokens) from which the forward pass also goes dense when the fast path is
#: on. Measured on an H200 (docs/benchmarks.md): at 4 x 256 tokens the dense forward lifts
#: the step from 1.6x to 2.5x plain mlx-lm for a little more memory.
DEFAULT_FORWARD_ROWS = 1024
#: Rows (batch x tokens) below which ``auto`` keeps MLX's own quantized backward pass. The
#: fast path dequantizes every adapted weight each step, a fixed cost that only enough rows
#: pay back: on an H200 it lost at SmolLM2's batch 8 (about 360 rows: 10.3 steps/s against
#: 15.8 for plain mlx-lm) and won at batch 64 (about 2,900 rows) and for the 7B shape at
#: 4 x 256. ``RVTUNE_FAST_QMM=on`` uses it at every size.
DEFAULT_BACKWARD_ROWS = 512


def settings() -> tuple:
    """``(mode, forward_rows)`` from ``RVTUNE_FAST_QMM`` (auto|on|off, default auto) and
    ``RVTUNE_FAST_QMM_FORWARD_ROWS`` (an integer, or 0 for a quantized forward pass)."""
    import os

    from rvtune.core.errors import UsageError

    mode = os.environ.get("RVTUNE_FAST_QMM", "auto").strip().lower() or "auto"
    if mode not in MODES:
        raise UsageError(f"RVTUNE_FAST_QMM={mode}: use one of {', '.join(MODES)}")
    raw = os.environ.get("RVTUNE_FAST_QMM_FORWARD_ROWS", str(DEFAULT_FORWARD_ROWS))
    try:
        rows = int(raw)
    except ValueError:
        raise UsageError(f"RVTUNE_FAST_QMM_FORWARD_ROWS={raw}: expected an integer") from None
    return mode, (rows if rows > 0 else None)


def backward_rows(mode: str) -> int | None:
    """The fewest rows for which the fast backward runs: None (every size) when ``mode`` is
    'on', else ``RVTUNE_FAST_QMM_BACKWARD_ROWS`` (default :data:`DEFAULT_BACKWARD_ROWS`)."""
    import os

    from rvtune.core.errors import UsageError

    if mode == "on":
        return None
    raw = os.environ.get("RVTUNE_FAST_QMM_BACKWARD_ROWS", str(DEFAULT_BACKWARD_ROWS))
    try:
        rows = int(raw)
    except ValueError:
        raise UsageError(f"RVTUNE_FAST_QMM_BACKWARD_ROWS={raw}: expected an integer") from None
    return rows if rows > 0 else None


def wanted(mode: str) -> bool:
    """Whether ``mode`` ('auto', 'on', 'off') turns the fast backward pass on here."""
    if mode == "on":
        return True
    if mode == "off":
        return False
    from .cuda import on_cuda

    return on_cuda()


@lru_cache(maxsize=None)
def _qmm(group_size: int, bits: int, mode: str, has_biases: bool, forward_rows: int | None):
    import mlx.core as mx

    @mx.custom_function
    def qmm(x, w, scales, *biases):
        bias = biases[0] if biases else None
        if forward_rows is not None and x.size // x.shape[-1] >= forward_rows:
            # Many rows: one dequantize plus a dense GEMM beats the quantized kernel. The
            # dependency on x keeps the dense copy transient (made just before its matmul)
            # and distinct from the backward pass's copy, so compile cannot merge the two
            # and keep every layer's dense weight alive until the backward pass.
            w_after_x = mx.depends(w, x)
            weight = mx.dequantize(w_after_x, scales=scales, biases=bias,
                                   group_size=group_size, bits=bits, mode=mode, dtype=x.dtype)
            return x @ weight.T
        return mx.quantized_matmul(x, w, scales=scales, biases=bias, transpose=True,
                                   group_size=group_size, bits=bits, mode=mode)

    @qmm.vjp
    def qmm_vjp(primals, cotangent, _output):
        x, w, scales, *biases = primals
        # Dequantize only once this layer's cotangent exists: one dense weight at a time.
        weight = mx.dequantize(mx.depends(w, cotangent), scales=scales, biases=biases[0] if biases else None,
                               group_size=group_size, bits=bits, mode=mode,
                               dtype=cotangent.dtype)
        dx = cotangent @ weight
        # The base weights are frozen: their cotangents are never evaluated.
        return (dx, mx.zeros_like(w), mx.zeros_like(scales), *[mx.zeros_like(b) for b in biases])

    return qmm


def _fast_call(self, x):
    least = self._rvtune_backward_rows
    if least is not None and x.size // x.shape[-1] < least:
        # Few rows (a static shape, so decided once per compiled shape): MLX's own path.
        return self._rvtune_base.__call__(self, x)
    biases = self.get("biases")
    fn = _qmm(self.group_size, self.bits, getattr(self, "mode", "affine"), biases is not None,
              self._rvtune_forward_rows)
    args = (x, self["weight"], self["scales"]) + ((biases,) if biases is not None else ())
    y = fn(*args)
    if "bias" in self:
        y = y + self["bias"]
    return y


_FAST_CLASSES: dict = {}


def _fast_class(cls, forward_rows, backward_rows=None):
    key = (cls, forward_rows, backward_rows)
    if key not in _FAST_CLASSES:
        _FAST_CLASSES[key] = type(f"Fast{cls.__name__}", (cls,),
                                  {"__call__": _fast_call, "_rvtune_forward_rows": forward_rows,
                                   "_rvtune_backward_rows": backward_rows,
                                   "_rvtune_base": cls})
    return _FAST_CLASSES[key]


def enable(model, forward_rows: int | None = None, backward_rows: int | None = None) -> int:
    """Give every quantized linear layer of ``model`` the fast backward pass.

    With ``forward_rows``, a forward pass over at least that many rows (batch x tokens)
    also dequantizes and uses a dense matmul (None or 0: never, as
    ``RVTUNE_FAST_QMM_FORWARD_ROWS=0``); with ``backward_rows``, a call over fewer rows
    keeps MLX's own quantized path. Returns the number of layers changed. The
    layers keep their class's behaviour and parameters (they become a subclass), so
    saving, fusing and loading are unaffected.
    """
    import mlx.nn as nn

    forward_rows = forward_rows if forward_rows and forward_rows > 0 else None
    count = 0
    for _name, module in model.named_modules():
        base = getattr(type(module), "_rvtune_base", type(module))
        if base is nn.QuantizedLinear:
            module.__class__ = _fast_class(base, forward_rows, backward_rows)
            count += 1
    return count
