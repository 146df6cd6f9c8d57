"""``fused``: a standalone mlx-lm model with the adapter merged into its weights.

Re-quantizing a fused layer at the base's 4 bits can wash the adapter out: the LoRA delta is
often smaller than a 4-bit quantization step, so ``quantize(W + delta)`` comes back close to
``quantize(W)`` (mlx-lm issues #1172 / #654; upstream ``mlx_lm fuse`` does exactly this).
rvtune fuses each adapted layer in float32 through mlx-lm's ``LoRALinear.fuse`` and then
stores it in the smallest form that keeps the fine-tune:

1. the base's own quantization (e.g. 4-bit), if that keeps the layer within
   ``max_delta_error`` (default 10%) of base + adapter, measured as
   ``|stored - (W + delta)| / |delta|`` (Frobenius norms);
2. else 8-bit (same group size);
3. else the model's 16-bit dtype; 4. else float32.

Layers without an adapter keep their original (quantized) weights bit for bit. The saved
model is then loaded back from disk and its logits compared with base + adapter on a few
prompts: the drift must stay within ``max_drift`` (default 0.1) times the adapter's own
effect on the logits plus 10% of the logit range (room for 16-bit rounding). If it does not, the export retries with every
adapted layer in 16-bit, and fails (nothing written) if even that drifts.
``dequantize=True`` gives a plain 16-bit model instead (what ``gguf`` builds on).
``rvtune_fuse.json`` records how each layer was stored, the drift and whether it retried.

The saved model carries the run's prompt format as its chat template (``chat_template.jinja``
and ``tokenizer_config.json``; see :mod:`.chat_template`), and single-token stop strings join
``eos_token_id``, so mlx-lm's own generate and server prompt and stop it as rvtune does.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

from rvtune.core.errors import RvtuneError

from .base import Exporter

DEFAULT_TEXTS = (
    "Add the values in a0 and a1 and store the sum in a2.",
    "Load a word from memory at sp plus 8 into t0.",
    "Branch to loop if t1 is not zero.",
)
CHECK_TOKENS = 48


@dataclass
class FuseReport:
    """How each adapted layer was stored, and how closely the fused model matches."""

    layers: dict = field(default_factory=dict)  # module path -> "4-bit", "bfloat16", ...
    drift: float = 0.0      # max |logits(fused) - logits(base + adapter)|
    effect: float = 0.0     # max |logits(base + adapter) - logits(base)|
    allowed: float = 0.0    # the drift the check allowed
    dequantized: bool = False
    retried: bool = False

    @property
    def counts(self) -> dict:
        out = {}
        for kind in self.layers.values():
            out[kind] = out.get(kind, 0) + 1
        return out

    def summary(self) -> str:
        """One line for the CLI."""
        kept = ", ".join(f"{n} {k}" for k, n in sorted(self.counts.items())) or "no layers"
        return (f"adapted layers stored as: {kept}; logit drift {self.drift:.3g} vs adapter "
                f"effect {self.effect:.3g} (allowed {self.allowed:.3g})"
                + ("; retried with 16-bit layers" if self.retried else ""))

    def to_dict(self) -> dict:
        return {"layers": self.layers, "counts": self.counts, "drift": self.drift,
                "effect": self.effect, "allowed": self.allowed,
                "dequantized": self.dequantized, "retried": self.retried}


def check_ids(tokenizer, texts=None) -> list:
    """Token ids of the check prompts (at most ``CHECK_TOKENS`` each)."""
    ids = []
    for text in texts or DEFAULT_TEXTS:
        tokens = list(tokenizer.encode(text))[:CHECK_TOKENS]
        if tokens:
            ids.append(tokens)
    return ids


def logits(model, ids: list):
    """float32 numpy logits of ``model`` for each token list in ``ids``."""
    import mlx.core as mx
    import numpy as np

    out = []
    for tokens in ids:
        value = model(mx.array([tokens])).astype(mx.float32)
        mx.eval(value)
        out.append(np.array(value[0]))
    return out


def lora_layers(model) -> list:
    """``(path, module)`` of every LoRA layer of ``model``."""
    return [(p, m) for p, m in model.named_modules() if "lora_a" in m and hasattr(m, "fuse")]


def base_logits(model, ids: list):
    """Logits with every LoRA layer switched off (scale 0), i.e. the base model's."""
    layers = lora_layers(model)
    scales = [m.scale for _, m in layers]
    try:
        for _, m in layers:
            m.scale = 0.0
        return logits(model, ids)
    finally:
        for (_, m), scale in zip(layers, scales):
            m.scale = scale


def _float32_lora(lora):
    """A float32 copy of a LoRA layer, so mlx-lm's ``fuse`` adds the delta in float32."""
    import mlx.core as mx
    import mlx.nn as nn
    from mlx_lm.tuner.lora import LoRALinear

    base = lora.linear
    if isinstance(base, nn.QuantizedLinear):
        weight = mx.dequantize(base.weight, base.scales, base.biases,
                               group_size=base.group_size, bits=base.bits, mode=base.mode)
    else:
        weight = base.weight
    has_bias = "bias" in base
    plain = nn.Linear(weight.shape[1], weight.shape[0], bias=has_bias)
    plain.weight = weight.astype(mx.float32)
    if has_bias:
        plain.bias = base.bias
    copy = LoRALinear.from_base(plain, r=lora.lora_a.shape[1], scale=lora.scale)
    copy.lora_a = lora.lora_a.astype(mx.float32)
    copy.lora_b = lora.lora_b.astype(mx.float32)
    return copy, plain.weight


def _candidates(base, dequantize: bool, allow_quantized: bool):
    import mlx.core as mx
    import mlx.nn as nn

    quantized = isinstance(base, nn.QuantizedLinear)
    dtype = base.scales.dtype if quantized else base.weight.dtype
    if quantized and allow_quantized and not dequantize:
        yield f"{base.bits}-bit", (base.bits, base.group_size, base.mode)
        if base.bits < 8 and base.mode == "affine":
            yield "8-bit", (8, base.group_size, base.mode)
    if dtype != mx.float32:
        yield str(dtype).rsplit(".", 1)[-1], dtype
    yield "float32", mx.float32


def _store(fused32, how):
    import mlx.nn as nn

    if isinstance(how, tuple):
        bits, group_size, mode = how
        return nn.QuantizedLinear.from_linear(fused32, group_size, bits, mode=mode)
    layer = nn.Linear(fused32.weight.shape[1], fused32.weight.shape[0],
                      bias="bias" in fused32)
    layer.weight = fused32.weight.astype(how)
    if "bias" in fused32:
        layer.bias = fused32.bias
    return layer


def _as_float32(layer):
    import mlx.core as mx
    import mlx.nn as nn

    if isinstance(layer, nn.QuantizedLinear):
        return mx.dequantize(layer.weight, layer.scales, layer.biases,
                             group_size=layer.group_size, bits=layer.bits,
                             mode=layer.mode).astype(mx.float32)
    return layer.weight.astype(mx.float32)


def fuse_in_place(model, dequantize: bool = False, max_delta_error: float = 0.1,
                  allow_quantized: bool = True) -> dict:
    """Merge every LoRA layer of ``model`` into a plain or quantized linear layer.

    Returns ``{module path: how it was stored}``; see the module docstring for the rule.
    """
    import mlx.core as mx
    from mlx.utils import tree_unflatten

    chosen, replacements = {}, []
    for path, lora in lora_layers(model):
        f32, base_weight = _float32_lora(lora)
        fused32 = f32.fuse(dequantize=True)
        delta = mx.linalg.norm((fused32.weight - base_weight).reshape(-1)).item()
        if delta == 0.0 and not dequantize:
            replacements.append((path, lora.linear))
            chosen[path] = "unchanged (zero delta)"
            continue
        for name, how in _candidates(lora.linear, dequantize, allow_quantized):
            layer = _store(fused32, how)
            error = mx.linalg.norm((_as_float32(layer) - fused32.weight).reshape(-1)).item()
            if name == "float32" or error <= max_delta_error * max(delta, 1e-30):
                break
        mx.eval(layer.parameters())
        replacements.append((path, layer))
        chosen[path] = name
    if replacements:
        model.update_modules(tree_unflatten(replacements))
    if dequantize:
        from mlx_lm.utils import dequantize_model

        dequantize_model(model)
    return chosen


def fused_config(config: dict, loaded_bits: int, group_size: int | None, layers: dict,
                 dequantize: bool) -> dict:
    """The model config to save: no quantization when dequantized, else the base's
    quantization plus a per-layer entry for each adapted layer stored differently."""
    config = json.loads(json.dumps(config))
    if dequantize or not loaded_bits:
        config.pop("quantization", None)
        config.pop("quantization_config", None)
        return config
    quant = dict(config.get("quantization") or {"group_size": group_size, "bits": loaded_bits,
                                                "mode": "affine"})
    base_kind = f"{quant.get('bits', loaded_bits)}-bit"
    for path, kind in layers.items():
        if kind == base_kind or kind.startswith("unchanged"):
            continue
        if kind.endswith("-bit"):
            quant[path] = {"group_size": quant.get("group_size", group_size),
                           "bits": int(kind.split("-")[0]), "mode": quant.get("mode", "affine")}
        else:
            quant[path] = False
    config["quantization"] = quant
    config["quantization_config"] = quant
    return config


def _drift(fused, ref, base, max_drift: float) -> tuple:
    import numpy as np

    drift = max(float(np.abs(f - r).max()) for f, r in zip(fused, ref))
    effect = max(float(np.abs(r - b).max()) for r, b in zip(ref, base))
    span = max(float(np.abs(r).max()) for r in ref)
    # The 10%-of-range term leaves room for 16-bit rounding when the effect is tiny.
    allowed = max_drift * (effect + 0.1 * span)
    return drift, effect, allowed


def fuse_to_dir(source: dict, target: Path, dequantize: bool = False,
                max_delta_error: float = 0.1, max_drift: float = 0.1,
                texts=None, log=print) -> FuseReport:
    """Load base + adapter per ``source`` (keyword arguments of
    :func:`rvtune.export.loading.load_with_adapter`), fuse, save to ``target`` atomically,
    reload what was written and check it against base + adapter."""
    try:
        return _fuse_once(source, target, dequantize, max_delta_error, max_drift, texts,
                          allow_quantized=True, retried=False)
    except _Drifted as drifted:
        if not drifted.quantized:
            raise drifted.error from None
        log(f"note: with quantized adapted layers the fused model drifts from base + adapter "
            f"(logit drift {drifted.drift:.3g} > allowed {drifted.allowed:.3g}); retrying "
            "with the adapted layers in 16-bit")
    try:
        return _fuse_once(source, target, dequantize, max_delta_error, max_drift, texts,
                          allow_quantized=False, retried=True)
    except _Drifted as drifted:
        raise drifted.error from None


class _Drifted(Exception):
    def __init__(self, error: RvtuneError, quantized: bool, drift: float, allowed: float):
        super().__init__(str(error))
        self.error, self.quantized = error, quantized
        self.drift, self.allowed = drift, allowed


def _fuse_once(source, target, dequantize, max_delta_error, max_drift, texts,
               allow_quantized, retried) -> FuseReport:
    from mlx_lm.utils import load_model, save

    from rvtune.core.atomic import atomic_path
    from rvtune.inference import prompt_format

    from .chat_template import adds_bos
    from .loading import load_with_adapter

    loaded = load_with_adapter(**source)
    if not lora_layers(loaded.model):
        raise RvtuneError("the adapter put no LoRA layer on the model; nothing to fuse")
    ids = check_ids(loaded.tokenizer, texts)
    ref = logits(loaded.model, ids)
    base = base_logits(loaded.model, ids)
    layers = fuse_in_place(loaded.model, dequantize, max_delta_error, allow_quantized)
    config = fused_config(loaded.config, loaded.bits, loaded.group_size, layers, dequantize)
    fmt = prompt_format(loaded.run, loaded.adapter)
    stop_ids = single_token_ids(loaded.tokenizer, fmt.stop_strings)
    bos = adds_bos(loaded.tokenizer)
    with atomic_path(target) as tmp:
        save(tmp, loaded.model_path, loaded.model, loaded.tokenizer, config,
             donate_model=True)
        del loaded
        write_prompt_format(tmp, fmt.formatter, stop_ids, bos)
        reloaded, _ = load_model(tmp)
        fused = logits(reloaded, ids)
        del reloaded
        drift, effect, allowed = _drift(fused, ref, base, max_drift)
        report = FuseReport(layers, drift, effect, allowed, dequantize, retried)
        if not drift <= allowed:  # NaN drift fails too
            quantized = any(k.endswith("-bit") for k in layers.values())
            raise _Drifted(RvtuneError(
                f"the fused model does not reproduce base + adapter (logit drift "
                f"{drift:.3g}, allowed {allowed:.3g}); nothing was written. Use the adapter "
                "unfused (rvtune generate --run RUN) or raise --max-drift"),
                quantized and not dequantize, drift, allowed)
        (tmp / "rvtune_fuse.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n",
                                              encoding="utf-8")
    return report


def single_token_ids(tokenizer, texts) -> list:
    """Ids of the stop strings that are one token each (``<|im_end|>``), in order."""
    hf = getattr(tokenizer, "_tokenizer", tokenizer)
    vocab = hf.get_vocab() if hasattr(hf, "get_vocab") else {}
    return [vocab[t] for t in texts if t and t in vocab]


def write_prompt_format(model_dir: Path, formatter, stop_ids=(), bos: bool = False) -> None:
    """Give a saved model the run's prompt format: ``chat_template.jinja`` (and
    ``tokenizer_config.json``'s ``chat_template``) render it, and the single-token stop
    strings join ``eos_token_id`` so mlx-lm and transformers stop where rvtune does."""
    from .chat_template import chat_template

    template = chat_template(formatter, bos)
    (model_dir / "chat_template.jinja").write_text(template, encoding="utf-8")
    path = model_dir / "tokenizer_config.json"
    settings = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    settings["chat_template"] = template
    path.write_text(json.dumps(settings, indent=2, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    for name in ("config.json", "generation_config.json"):
        path = model_dir / name
        if not path.exists() or not stop_ids:
            continue
        settings = json.loads(path.read_text(encoding="utf-8"))
        eos = settings.get("eos_token_id")
        eos = [] if eos is None else eos if isinstance(eos, list) else [eos]
        settings["eos_token_id"] = eos + [i for i in stop_ids if i not in eos]
        path.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")


def fuse_options(request) -> dict:
    """The fused/gguf options of a request, checked."""
    from rvtune.core.errors import UsageError

    from .base import options

    opts = options(request)
    out = {}
    for key in ("max_delta_error", "max_drift"):
        if opts.get(key) is not None:
            value = float(opts[key])
            if not value > 0:
                raise UsageError(f"--{key.replace('_', '-')} {value}: must be above 0")
            out[key] = value
    return out


class FusedExporter(Exporter):
    """Standalone mlx-lm model with the adapter merged; checked against base + adapter."""

    name = "fused"
    default_name = "fused-model"

    def write(self, request, out):
        from .base import log_of, options, source

        log = log_of(request)
        report = fuse_to_dir(source(request), out,
                             dequantize=bool(options(request).get("dequantize")),
                             log=log, **fuse_options(request))
        log(report.summary())
