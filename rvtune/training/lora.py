"""LoRA the way users mean it: short module names resolved to real paths, ``scale`` from
``alpha / rank``, and a loud error for a name that matches nothing."""

from dataclasses import dataclass, field
from functools import lru_cache

from rvtune.core.errors import UsageError

ALL_LINEAR = "all-linear"


def _is_linear(module) -> bool:
    import mlx.nn as nn

    return hasattr(module, "to_lora") or isinstance(module, (nn.Linear, nn.QuantizedLinear)) or (
        type(module).__name__ in ("SwitchLinear", "QuantizedSwitchLinear"))


def selected_layers(model, num_layers: int) -> list:
    """Indices of the blocks that get adapters: the last ``num_layers`` (-1 = all)."""
    total = len(model.layers)
    if num_layers == -1:
        return list(range(total))
    if num_layers < 1 or num_layers > total:
        raise UsageError(f"--num-layers {num_layers}: the model has {total} layers; "
                         f"use 1..{total}, or -1 for all")
    return list(range(total - num_layers, total))


def linear_paths(model, layers) -> list:
    """Paths (inside a block) of the linear layers of the given blocks, e.g. ``mlp.up_proj``."""
    paths = set()
    for index in layers:
        for path, module in model.layers[index].named_modules():
            if path and _is_linear(module):
                paths.add(path)
    return sorted(paths)


def resolve_targets(model, targets, layers) -> list:
    """Map ``--target-modules`` names (short ``q_proj``, full ``self_attn.q_proj``, or
    ``all-linear``) to the paths mlx-lm matches; a name matching nothing is an error."""
    available = linear_paths(model, layers)
    if not targets:
        raise UsageError("--target-modules is empty; name at least one module, e.g. q_proj")
    keys = []
    for name in targets:
        name = name.strip()
        if name == ALL_LINEAR:
            found = available
        else:
            found = [p for p in available if p == name or p.endswith("." + name)]
        if not found:
            shorts = sorted({p.rsplit(".", 1)[-1] for p in available})
            raise UsageError(
                f"--target-modules {name}: matches no linear layer in the model's blocks; "
                f"available: {', '.join(shorts)} (or full paths like {available[0]}, "
                f"or {ALL_LINEAR})")
        keys.extend(p for p in found if p not in keys)
    return keys


@dataclass
class LoraInfo:
    """What got adapters and how many parameters train."""

    keys: list
    layers: list
    rank: int
    scale: float
    dropout: float
    trainable: int = 0
    total: int = 0
    adapted: dict = field(default_factory=dict)  # module path -> number of blocks

    @property
    def share(self) -> float:
        return self.trainable / self.total if self.total else 0.0

    def lora_parameters(self) -> dict:
        """The ``lora_parameters`` block of mlx-lm's ``adapter_config.json``."""
        return {"rank": self.rank, "scale": self.scale, "dropout": self.dropout,
                "keys": list(self.keys)}


def apply_lora(model, config) -> LoraInfo:
    """Freeze ``model`` and add LoRA layers per ``config`` (a :class:`TrainConfig`)."""
    from mlx.utils import tree_flatten
    from mlx_lm.tuner.utils import linear_to_lora_layers
    from mlx_lm.utils import get_total_parameters

    layers = selected_layers(model, config.num_layers)
    keys = resolve_targets(model, config.target_modules, layers)
    model.freeze()
    linear_to_lora_layers(model, len(layers), {"rank": config.rank, "scale": config.scale,
                                               "dropout": config.dropout, "keys": keys})
    use_lean_inputs(model)
    info = LoraInfo(keys, layers, config.rank, config.scale, config.dropout)
    for index in layers:
        for path, module in model.layers[index].named_modules():
            if "lora_a" in module:
                info.adapted[path] = info.adapted.get(path, 0) + 1
    info.trainable = sum(v.size for _, v in tree_flatten(model.trainable_parameters()))
    info.total = get_total_parameters(model)
    return info


# --- LoRA inputs kept in the model's dtype ---------------------------------------------
#
# mlx-lm's LoRA weights are float32, so in a 16-bit model ``x @ lora_a`` promotes each
# adapted module's input to a float32 copy, and the gradient of ``lora_a`` needs it: MLX
# keeps that copy of every distinct input (attention, o_proj, MLP and down_proj inputs) of
# every block until the backward pass, 4 bytes per value beside the 2-byte input it copies
# (3.5 GB for Mistral-7B's shape at 4 x 256 tokens). The branch below computes exactly what
# mlx-lm computes (float32 matmuls on the float32 copy), but its backward pass makes the
# copy again from the 16-bit input, which the base layer's backward keeps anyway.

LEAN_ENV = "RVTUNE_LEAN_LORA"


@lru_cache(maxsize=None)
def _lora_branch():
    import mlx.core as mx

    @mx.custom_function
    def branch(x, a, b):
        return (x.astype(a.dtype) @ a) @ b

    @branch.vjp
    def branch_vjp(primals, cotangent, _output):
        x, a, b = primals
        # After the cotangent exists, so compile cannot merge it with the forward's copy.
        xf = mx.depends(x, cotangent).astype(a.dtype)
        xf = xf.reshape(-1, xf.shape[-1])
        c = cotangent.reshape(-1, cotangent.shape[-1]).astype(a.dtype)
        h = xf @ a
        g = c @ b.T
        dx = (g @ a.T).reshape(x.shape).astype(x.dtype)
        return dx, xf.T @ g, h.T @ c

    return branch


def _lean_call(self, x):
    if x.dtype == self.lora_a.dtype:  # float32 model: nothing is promoted
        return self._rvtune_lora_base.__call__(self, x)
    y = self.linear(x)
    z = _lora_branch()(self.dropout(x), self.lora_a, self.lora_b)
    return y + (self.scale * z).astype(x.dtype)


_LEAN_CLASSES: dict = {}


#: ``auto`` uses the lean branch from this hidden size up. Its backward pass runs about four
#: more kernels per adapted matrix (the copy and ``x @ lora_a`` again, casts): on a small
#: model, whose step is launch-bound on a GPU (SmolLM2: ~4,000 kernels a step, docs/
#: benchmarks.md section 10), that costs time and saves a few MB; from 2,048 wide (the
#: 1-2B models up) the copies are gigabytes (Mistral-7B at 4 x 256: ~2.2 GB, section 11).
LEAN_MIN_HIDDEN = 2048


def lean_wanted(hidden_size: int | None = None) -> bool:
    """``RVTUNE_LEAN_LORA``: on, off, or auto (the default: on for models at least
    :data:`LEAN_MIN_HIDDEN` wide; ``hidden_size`` None counts as wide)."""
    import os

    value = os.environ.get(LEAN_ENV, "auto").strip().lower() or "auto"
    if value not in ("on", "off", "auto"):
        raise UsageError(f"{LEAN_ENV}={value}: use on, off or auto")
    if value == "auto":
        return hidden_size is None or hidden_size >= LEAN_MIN_HIDDEN
    return value == "on"


def hidden_size(model) -> int | None:
    """The width of the model's residual stream (its config's ``hidden_size``), if known."""
    args = getattr(model, "args", None)
    size = getattr(args, "hidden_size", None)
    return int(size) if size else None


def use_lean_inputs(model) -> int:
    """The lean branch where ``RVTUNE_LEAN_LORA`` wants it for this model's width
    (:func:`lean_wanted`); returns the number of layers changed."""
    return enable_lean_inputs(model) if lean_wanted(hidden_size(model)) else 0


def enable_lean_inputs(model) -> int:
    """Give every mlx-lm ``LoRALinear`` of ``model`` the branch that keeps no float32 copy of
    its input for the backward pass (same values and gradients, see
    ``tests/training/test_lora.py``). The layers become a subclass: parameters, saving and
    fusing are unchanged. Returns the number of layers changed."""
    from mlx_lm.tuner.lora import LoRALinear

    count = 0
    for _name, module in model.named_modules():
        base = getattr(type(module), "_rvtune_lora_base", type(module))
        if base is LoRALinear:
            if base not in _LEAN_CLASSES:
                _LEAN_CLASSES[base] = type(f"Lean{base.__name__}", (base,),
                                           {"__call__": _lean_call,
                                            "_rvtune_lora_base": base})
            module.__class__ = _LEAN_CLASSES[base]
            count += 1
    return count
