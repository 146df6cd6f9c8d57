"""Check an adapter against its base model before any export is written.

The base's linear layers are read from the safetensors headers of the model directory (no
weights are loaded; a quantized MLX layer's input width comes from its scales and group
size), else derived from ``config.json`` for Llama/Mistral-shaped models. Each adapted
module must exist, sit in a block the model has, and have LoRA tensors of shape
``(in, rank)`` / ``(rank, out)``. A mismatch is one line naming the tensor and both shapes.
"""

import json
import re
from pathlib import Path

from rvtune.core.errors import DataError

from .adapter import LoraAdapter

_LAYER = re.compile(r"^model\.layers\.(\d+)\.")
_LLAMA_MODULES = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                  "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")


def linear_shapes(model_dir) -> dict:
    """``{module path: (out, in)}`` of the base's linear layers, without loading weights."""
    from .gguf_write import safetensors_shapes

    model_dir = Path(model_dir)
    config = json.loads((model_dir / "config.json").read_text())
    shapes = safetensors_shapes(model_dir)
    if not shapes:
        return config_shapes(config)
    quant = config.get("quantization") or {}
    out = {}
    for name, shape in shapes.items():
        if not name.endswith(".weight") or len(shape) != 2:
            continue
        module = name[:-len(".weight")]
        scales = shapes.get(module + ".scales")
        if scales is not None:  # an MLX quantized layer: packed weight, one scale per group
            group = (quant.get(module) or {}).get("group_size") if isinstance(
                quant.get(module), dict) else None
            shape = (shape[0], scales[1] * int(group or quant.get("group_size", 64)))
        out[module] = tuple(shape)
    return out


def config_shapes(config: dict) -> dict:
    """The linear layers a Llama/Mistral ``config.json`` implies (empty for other models)."""
    if config.get("model_type") not in ("llama", "mistral") or "hidden_size" not in config:
        return {}
    hidden, inter = config["hidden_size"], config["intermediate_size"]
    heads = config["num_attention_heads"]
    kv = config.get("num_key_value_heads") or heads
    dim = config.get("head_dim") or hidden // heads
    per_block = {"self_attn.q_proj": (heads * dim, hidden), "self_attn.k_proj": (kv * dim, hidden),
                 "self_attn.v_proj": (kv * dim, hidden), "self_attn.o_proj": (hidden, heads * dim),
                 "mlp.gate_proj": (inter, hidden), "mlp.up_proj": (inter, hidden),
                 "mlp.down_proj": (hidden, inter)}
    shapes = {f"model.layers.{i}.{m}": s for i in range(config["num_hidden_layers"])
              for m, s in per_block.items()}
    shapes["lm_head"] = (config.get("vocab_size", 0), hidden)
    return shapes


def check_adapter(adapter: LoraAdapter, shapes: dict, model: str, layers: int | None) -> None:
    """Raise a one-line :class:`DataError` when ``adapter`` does not fit the base."""
    if not shapes:
        return
    fix = "the adapter was trained for another model; pass the right base with --model"
    for module in adapter.modules:
        name = f"{module}.lora_a"
        if module not in shapes:
            match = _LAYER.match(module)
            if match and layers is not None and int(match.group(1)) >= layers:
                raise DataError(f"{adapter.source}: tensor '{name}' is for block "
                                f"{match.group(1)} but {model} has {layers} blocks "
                                f"(0-{layers - 1}); {fix}")
            raise DataError(f"{adapter.source}: tensor '{name}' names no linear layer of "
                            f"{model}; {fix}")
        out_dims, in_dims = shapes[module]
        for leaf, want in (("lora_a", (in_dims, adapter.rank)),
                           ("lora_b", (adapter.rank, out_dims))):
            got = tuple(adapter.weights[f"{module}.{leaf}"].shape)
            if got != want:
                raise DataError(f"{adapter.source}: tensor '{module}.{leaf}' has shape {got} "
                                f"but {model} needs {want} there; {fix}")


def check_against_base(adapter: LoraAdapter) -> None:
    """Check ``adapter`` against its base model when the base is on disk (else nothing)."""
    if not adapter.model:
        return
    local = Path(adapter.model).expanduser()
    try:
        if (local / "config.json").is_file():  # even without loadable weights
            model_dir = local
        else:
            from rvtune.training.model import resolve_model_path

            model_dir = resolve_model_path(adapter.model)
        config = json.loads((model_dir / "config.json").read_text())
    except Exception:  # not local: the export still works, loading will check
        return
    from .loading import total_layers

    check_adapter(adapter, linear_shapes(model_dir), adapter.model, total_layers(config))
