"""``gguf``: a 16-bit GGUF file for llama.cpp and Ollama, with an optional ``Modelfile``.

The adapter is fused into a dequantized (16-bit) copy of the base first (the ``fused``
export's checked path, in a temporary directory), then written with mlx-lm's GGUF pieces:
``permute_weights`` for the q/k projections, ``translate_weight_names`` for llama.cpp's
tensor names (``token_embd``, ``blk.N.attn_q``, ``ffn_gate`` ...), ``HfVocab`` and
``prepare_metadata`` for the vocabulary and hyper-parameters. Norms stay float32, every
other tensor is float16. Only the architectures mlx-lm converts are accepted.
"""

import json
import os
import shutil
import tempfile
from pathlib import Path

from rvtune.core.errors import UsageError

from .base import Exporter

#: model_type values whose GGUF conversion rvtune supports (llama.cpp arch ``llama``).
SUPPORTED = ("llama", "mistral")


def check_architecture(config: dict, model: str) -> None:
    """Refuse models the GGUF writer cannot convert, before any heavy work."""
    model_type = config.get("model_type")
    if model_type not in SUPPORTED:
        raise UsageError(
            f"--format gguf: model '{model}' has model_type '{model_type}', which rvtune's "
            f"GGUF export does not support (supported: {', '.join(SUPPORTED)}); export "
            "--format fused and convert it with llama.cpp's convert_hf_to_gguf.py")


def gguf_metadata(config: dict, model_dir: Path, name: str) -> dict:
    """mlx-lm's GGUF metadata for ``config`` and the tokenizer in ``model_dir``."""
    import mlx.core as mx
    from mlx_lm.gguf import HfVocab, prepare_metadata

    vocab = HfVocab.load(model_dir)
    metadata = prepare_metadata(config, vocab)
    head_dim = config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]
    # mlx-lm derives the rope dimension from hidden_size / heads; Mistral-style configs
    # may set head_dim explicitly, and llama.cpp needs the real one.
    metadata["llama.rope.dimension_count"] = mx.array(head_dim, dtype=mx.uint32)
    metadata["llama.attention.key_length"] = mx.array(head_dim, dtype=mx.uint32)
    metadata["llama.attention.value_length"] = mx.array(head_dim, dtype=mx.uint32)
    metadata["general.name"] = name
    return metadata


def gguf_tensors(weights: dict, config: dict) -> dict:
    """Fused model weights -> llama.cpp tensor names, permuted q/k, float16 (norms float32)."""
    import mlx.core as mx
    from mlx_lm.gguf import permute_weights, translate_weight_names

    heads = config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads", heads)
    out = {}
    for name, value in weights.items():
        if "self_attn.q_proj.weight" in name:
            value = permute_weights(value, heads, heads)
        elif "self_attn.k_proj.weight" in name:
            value = permute_weights(value, heads, kv_heads)
        new_name = translate_weight_names(name)
        out[new_name] = value.astype(mx.float32 if "norm" in new_name else mx.float16)
    return out


def write_gguf(fused_dir: Path, target: Path, name: str) -> Path:
    """Convert the dequantized model in ``fused_dir`` to a GGUF file at ``target``."""
    import mlx.core as mx

    from rvtune.core.atomic import atomic_path

    config = json.loads((fused_dir / "config.json").read_text())
    if config.get("quantization"):
        raise UsageError(f"{fused_dir}: is quantized; GGUF export needs a 16-bit model")
    weights = {}
    for path in sorted(fused_dir.glob("model*.safetensors")):
        weights.update(mx.load(str(path)))
    if not (fused_dir / "tokenizer.json").exists():
        raise UsageError(f"{fused_dir}: has no tokenizer.json; GGUF export needs a fast "
                         "(tokenizer.json) Hugging Face tokenizer")
    tensors = gguf_tensors(weights, config)
    metadata = gguf_metadata(config, fused_dir, name)
    with atomic_path(target) as tmp:
        named = tmp.with_name(tmp.name + ".gguf")  # mx.save_gguf insists on the suffix
        try:
            mx.save_gguf(str(named), tensors, metadata)
            os.replace(named, tmp)
        finally:
            named.unlink(missing_ok=True)
    return target


def export_gguf(source: dict, target: Path, name: str, log=print, **fuse_options):
    """Fuse (dequantized) into a temporary directory beside ``target``, then write GGUF."""
    from .fused import fuse_to_dir

    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        report = fuse_to_dir(source, work / "fused", dequantize=True, log=log,
                             **fuse_options)
        write_gguf(work / "fused", target, name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return report


def modelfile_text(gguf_name: str, formatter, has_bos: bool, bos_token: str | None) -> str:
    """An Ollama ``Modelfile``: the GGUF, the run's prompt layout and its stop strings."""
    marker = "\x00PROMPT\x00"
    rendered = formatter.render_prompt(marker)
    if has_bos and bos_token and rendered.startswith(bos_token):
        rendered = rendered[len(bos_token):]  # llama.cpp adds BOS itself
    if '"""' in rendered:
        raise UsageError("the run's prompt layout contains '\"\"\"', which a Modelfile "
                         "TEMPLATE cannot hold; write the Modelfile by hand")
    template = rendered.replace(marker, "{{ .Prompt }}")
    lines = [f"FROM ./{gguf_name}", f'TEMPLATE """{template}"""']
    for stop in formatter.stop_strings:
        if stop:
            lines.append(f"PARAMETER stop {json.dumps(stop)}")
    lines.append("PARAMETER temperature 0")
    return "\n".join(lines) + "\n"


class GgufExporter(Exporter):
    """16-bit GGUF for llama.cpp / Ollama (Llama, Mistral), optional Modelfile beside it."""

    name = "gguf"
    default_name = "model-f16.gguf"

    def write(self, request, out):
        from rvtune.core.atomic import atomic_open

        from .base import log_of, model_config, options, read_request_adapter, source
        from .fused import fuse_options

        log = log_of(request)
        src = source(request)
        adapter, run = read_request_adapter(request)
        config = model_config(adapter.model)
        if config is not None:  # fail before any heavy work when we can
            check_architecture(config, adapter.model)
        if out.suffix != ".gguf":
            raise UsageError(f"--out {out}: a GGUF file name must end in .gguf")
        name = run.path.name if run is not None else Path(adapter.model or "model").name
        report = export_gguf(src, out, name, log=log, **fuse_options(request))
        log(report.summary())
        if options(request).get("modelfile"):
            from rvtune.inference import prompt_format

            fmt = prompt_format(run, adapter)
            # Only chat-template formatters put BOS text in the prompt; theirs says which.
            bos = getattr(getattr(fmt.formatter, "tokenizer", None), "bos_token", None)
            with atomic_open(out.parent / "Modelfile", "w", encoding="utf-8") as fh:
                fh.write(modelfile_text(out.name, fmt.formatter, fmt.has_bos, bos))
