"""Generating text from a (base + adapter) model, stopping on a formatter's stop strings."""


def generate_text(model, tokenizer, prompt_text: str, max_tokens: int = 64, temp: float = 0.0,
                  seed: int = 0, stop_strings=()) -> str:
    """Complete ``prompt_text`` (already rendered by a formatter) with mlx-lm.

    Stops at the tokenizer's EOS, after ``max_tokens``, or at the first stop string (which
    is cut off, with anything after it). Stop strings that are single tokens of the
    vocabulary stop on the token itself.
    """
    import mlx.core as mx
    from mlx_lm.generate import stream_generate
    from mlx_lm.sample_utils import make_sampler

    mx.random.seed(seed)
    stop_strings = [s for s in stop_strings if s]
    stop_ids = set()
    hf = getattr(tokenizer, "_tokenizer", tokenizer)
    vocab = hf.get_vocab() if hasattr(hf, "get_vocab") else {}
    for s in stop_strings:
        if s in vocab:
            stop_ids.add(vocab[s])
    text = ""
    for response in stream_generate(model, tokenizer, prompt_text, max_tokens=max_tokens,
                                    sampler=make_sampler(temp=temp)):
        if response.token in stop_ids:
            break
        text += response.text
        if any(s in text for s in stop_strings):
            break
    for s in stop_strings:
        if s in text:
            text = text[:text.index(s)]
    return text


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
