"""A faster backward pass through 4-bit (quantized) linear layers.

For QLoRA the base weight is frozen, so its backward pass only needs the input gradient
``dx = dy @ W``: the *non-transposed* product with the quantized weight. MLX computes it with
``quantized_matmul(..., transpose=False)``, which on the CUDA backend runs a slow generic
kernel. Here the forward pass keeps the quantized kernel, and a custom VJP dequantizes the
weight (transiently, one layer at a time) and uses an ordinary matmul for ``dx``.

It is a pure speed switch: gradients equal the plain path's (see
``tests/training/test_qmm_vjp.py``). ``auto`` turns it on where it wins (the CUDA backend)
and off elsewhere (Metal's and the CPU's quantized kernels handle both layouts well).
"""

from functools import lru_cache

MODES = ("auto", "on", "off")


def wanted(mode: str) -> bool:
    """Whether ``mode`` ('auto', 'on', 'off') turns the fast backward pass on here."""
    if mode == "on":
        return True
    if mode == "off":
        return False
    import mlx.core as mx

    return mx.default_device() == mx.gpu and mx.cuda.is_available()


@lru_cache(maxsize=None)
def _qmm(group_size: int, bits: int, mode: str, has_biases: bool):
    import mlx.core as mx

    @mx.custom_function
    def qmm(x, w, scales, *biases):
        return mx.quantized_matmul(x, w, scales=scales, biases=biases[0] if biases else None,
                                   transpose=True, group_size=group_size, bits=bits, mode=mode)

    @qmm.vjp
    def qmm_vjp(primals, cotangent, _output):
        x, w, scales, *biases = primals
        weight = mx.dequantize(w, scales=scales, biases=biases[0] if biases else None,
                               group_size=group_size, bits=bits, mode=mode,
                               dtype=cotangent.dtype)
        dx = cotangent @ weight
        # The base weights are frozen: their cotangents are never evaluated.
        return (dx, mx.zeros_like(w), mx.zeros_like(scales), *[mx.zeros_like(b) for b in biases])

    return qmm


def _fast_call(self, x):
    biases = self.get("biases")
    fn = _qmm(self.group_size, self.bits, getattr(self, "mode", "affine"), biases is not None)
    args = (x, self["weight"], self["scales"]) + ((biases,) if biases is not None else ())
    y = fn(*args)
    if "bias" in self:
        y = y + self["bias"]
    return y


_FAST_CLASSES: dict = {}


def _fast_class(cls):
    if cls not in _FAST_CLASSES:
        _FAST_CLASSES[cls] = type(f"Fast{cls.__name__}", (cls,), {"__call__": _fast_call})
    return _FAST_CLASSES[cls]


def enable(model) -> int:
    """Give every quantized linear layer of ``model`` the fast backward pass.

    Returns the number of layers changed. The layers keep their class's behaviour and
    parameters (they become a subclass), so saving, fusing and loading are unaffected.
    """
    import mlx.nn as nn

    count = 0
    for _name, module in model.named_modules():
        if type(module) is nn.QuantizedLinear:
            module.__class__ = _fast_class(type(module))
            count += 1
    return count
