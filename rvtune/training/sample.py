"""Loading a trained adapter directory with its base model, quantized as in training.

Generation itself is :func:`rvtune.inference.generate`.
"""


def load_trained(adapter_dir):
    """Base model + trained adapters from an rvtune ``adapters/`` directory, quantized the
    way it was trained. Returns ``(model, tokenizer, adapter_config)``."""
    import json
    from pathlib import Path

    from mlx_lm.tuner.utils import load_adapters

    from rvtune.core.errors import UsageError

    from .model import load_base, resolve_model_path

    adapter_dir = Path(adapter_dir)
    try:
        config = json.loads((adapter_dir / "adapter_config.json").read_text())
    except (OSError, json.JSONDecodeError):
        raise UsageError(f"{adapter_dir}: no readable adapter_config.json; is this an "
                         "rvtune adapters directory?") from None
    extra = config.get("rvtune") or {}
    quant = extra.get("quantize_on_load") or {}
    base = config["model"]
    model, tokenizer, _config, _quant = load_base(
        resolve_model_path(base), quant.get("bits", 0), quant.get("group_size") or 64, base)
    load_adapters(model, str(adapter_dir))
    model.eval()
    return model, tokenizer, config
