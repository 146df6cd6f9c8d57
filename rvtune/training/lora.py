"""LoRA the way users mean it: short module names resolved to real paths, ``scale`` from
``alpha / rank``, and a loud error for a name that matches nothing."""

from dataclasses import dataclass, field

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
    info = LoraInfo(keys, layers, config.rank, config.scale, config.dropout)
    for index in layers:
        for path, module in model.layers[index].named_modules():
            if "lora_a" in module:
                info.adapted[path] = info.adapted.get(path, 0) + 1
    info.trainable = sum(v.size for _, v in tree_flatten(model.trainable_parameters()))
    info.total = get_total_parameters(model)
    return info
