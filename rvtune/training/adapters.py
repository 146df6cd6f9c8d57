"""Writing trained LoRA adapters: mlx-lm's adapter directory and a portable ``.npz``.

``save_npz``/``load_npz`` are shared with the exporters: one array per LoRA tensor under
mlx-lm's parameter names, plus the LoRA settings as JSON bytes under ``__rvtune_config__``,
so ``numpy.load(path, allow_pickle=False)`` reads everything.
"""

import json
from pathlib import Path

from rvtune.core.atomic import atomic_open, atomic_path, write_json

CONFIG_KEY = "__rvtune_config__"


def to_numpy(weights: dict) -> dict:
    """``{name: mx.array}`` -> ``{name: numpy array}`` (bfloat16 becomes float32)."""
    import numpy as np

    out = {}
    for name, value in weights.items():
        if hasattr(value, "dtype") and "bfloat16" in str(value.dtype):
            import mlx.core as mx

            value = value.astype(mx.float32)
        out[name] = np.array(value)
    return out


def save_npz(path, weights: dict, config: dict) -> Path:
    """Atomically write ``weights`` (mx or numpy arrays) and ``config`` (JSON) to ``path``."""
    import numpy as np

    path = Path(path)
    arrays = to_numpy(weights)
    if CONFIG_KEY in arrays:
        raise ValueError(f"a weight may not be called {CONFIG_KEY}")
    arrays[CONFIG_KEY] = np.frombuffer(json.dumps(config).encode("utf-8"), dtype=np.uint8)
    with atomic_open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def load_npz(path) -> tuple:
    """``(weights, config)`` from a file written by :func:`save_npz`."""
    import numpy as np

    with np.load(str(path), allow_pickle=False) as data:
        weights = {k: data[k] for k in data.files if k != CONFIG_KEY}
        config = (json.loads(bytes(data[CONFIG_KEY]).decode("utf-8"))
                  if CONFIG_KEY in data.files else {})
    return weights, config


def adapter_config(info, model: str, num_layers: int, extra: dict | None = None) -> dict:
    """mlx-lm's ``adapter_config.json`` content for a :class:`~rvtune.training.lora.LoraInfo`."""
    return {"fine_tune_type": "lora", "model": model, "num_layers": num_layers,
            "lora_parameters": info.lora_parameters(), **(extra or {})}


def save_adapter_dir(path, weights: dict, config: dict) -> Path:
    """Atomically write ``adapters.safetensors`` + ``adapter_config.json`` into ``path``,
    exactly what ``mlx_lm.load(model, adapter_path=path)`` reads."""
    import mlx.core as mx

    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.mkdir()
        mx.save_safetensors(str(tmp / "adapters.safetensors"), weights)
        write_json(tmp / "adapter_config.json", config)
    return path
