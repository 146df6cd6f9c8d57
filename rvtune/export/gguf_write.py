"""Write a 16-bit Llama/Mistral model directory as a GGUF file llama.cpp loads.

Written with the ``gguf`` package's ``GGUFWriter``, one tensor at a time (a model never has
to fit in memory twice). What llama.cpp's ``llama`` architecture expects, and how rvtune
meets it:

- tensor names ``token_embd``, ``blk.N.attn_q|attn_k|attn_v|attn_output|ffn_gate|ffn_up|
  ffn_down|attn_norm|ffn_norm``, ``output_norm``, ``output`` (left out when the embedding
  is tied; llama.cpp then reuses ``token_embd``);
- the rows of each q/k projection reordered within every head from Hugging Face's
  "first half, second half" rotary layout to the interleaved pairs llama.cpp rotates;
- hyper-parameters under ``llama.*`` (``rope.dimension_count`` is the real ``head_dim``);
- the vocabulary of :mod:`.gguf_vocab`, as many tokens as the embedding has rows.

Output types: ``f16`` (every matrix float16), ``q8_0`` (llama.cpp's 8-bit blocks of 32,
for matrices whose rows divide by 32; others float16) and ``f32``. Vectors (norms, biases)
are always float32.
"""

import json
import struct
from pathlib import Path

from rvtune.core.errors import UsageError

#: ``--outtype`` values.
OUTTYPES = ("f16", "q8_0", "f32")
SUPPORTED = ("llama", "mistral")

_BLOCK = {
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
    "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
}
_TOP = {"model.embed_tokens": "token_embd", "model.norm": "output_norm",
        "lm_head": "output"}


def gguf_name(name: str) -> str | None:
    """``model.layers.3.self_attn.q_proj.weight`` -> ``blk.3.attn_q.weight`` (None: no
    llama.cpp tensor)."""
    module, _, leaf = name.rpartition(".")
    if module in _TOP:
        return f"{_TOP[module]}.{leaf}"
    parts = module.split(".", 3)
    if len(parts) == 4 and parts[:2] == ["model", "layers"] and parts[3] in _BLOCK:
        return f"blk.{parts[2]}.{_BLOCK[parts[3]]}.{leaf}"
    return None


def check_architecture(config: dict, model: str, fmt: str = "gguf") -> None:
    """Refuse models the GGUF writer cannot convert, before any heavy work."""
    model_type = config.get("model_type")
    if model_type not in SUPPORTED:
        raise UsageError(
            f"--format {fmt}: model '{model}' has model_type '{model_type}', which rvtune's "
            f"GGUF export does not support (supported: {', '.join(SUPPORTED)}); export "
            "--format fused and convert it with llama.cpp's convert_hf_to_gguf.py")
    scaling = config.get("rope_scaling") or {}
    kind = scaling.get("rope_type") or scaling.get("type")
    if kind not in (None, "default", "linear"):
        raise UsageError(f"--format {fmt}: model '{model}' uses rope_scaling '{kind}', which "
                         "rvtune's GGUF export does not write; export --format fused and "
                         "convert it with llama.cpp's convert_hf_to_gguf.py")


def head_dim(config: dict) -> int:
    return int(config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"])


def rotary_rows(weight, heads: int):
    """Reorder the rows of a q/k projection (or its bias, or a LoRA B) for llama.cpp."""
    shape = weight.shape
    per_head = shape[0] // heads
    return (weight.reshape(heads, 2, per_head // 2, *shape[1:])
            .swapaxes(1, 2).reshape(shape))


def for_llama_cpp(name: str, value, config: dict):
    """A Hugging Face tensor as llama.cpp stores it (q/k rows reordered)."""
    heads = config["num_attention_heads"]
    if ".self_attn.q_proj." in name:
        return rotary_rows(value, heads)
    if ".self_attn.k_proj." in name:
        return rotary_rows(value, config.get("num_key_value_heads") or heads)
    return value


def tensor_type(gguf_mod, shape, outtype: str):
    """The GGML type a tensor of ``shape`` is stored as for ``outtype``."""
    types = gguf_mod.GGMLQuantizationType
    if len(shape) < 2 or outtype == "f32":
        return types.F32
    if outtype == "q8_0" and shape[-1] % 32 == 0:
        return types.Q8_0
    return types.F16


def encode(gguf_mod, value, qtype):
    """float32 numpy -> the bytes/array ``GGUFWriter.write_tensor_data`` takes."""
    import numpy as np

    types = gguf_mod.GGMLQuantizationType
    if qtype == types.F32:
        return np.ascontiguousarray(value, dtype=np.float32)
    if qtype == types.F16:
        return np.ascontiguousarray(value, dtype=np.float16)
    return gguf_mod.quants.quantize(np.ascontiguousarray(value, dtype=np.float32), qtype)


def safetensors_shapes(model_dir: Path) -> dict:
    """``{tensor name: shape}`` of every ``*.safetensors`` file, from the headers only."""
    shapes = {}
    for path in sorted(Path(model_dir).glob("*.safetensors")):
        with open(path, "rb") as fh:
            (length,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(length))
        for name, info in header.items():
            if name != "__metadata__":
                shapes[name] = tuple(info["shape"])
    return shapes


def add_hparams(writer, config: dict, name: str, file_type) -> None:
    """The ``general.*`` and ``llama.*`` key/values of a model."""
    heads = config["num_attention_heads"]
    writer.add_name(name)
    writer.add_type("model")
    writer.add_context_length(int(config.get("max_position_embeddings") or 4096))
    writer.add_embedding_length(config["hidden_size"])
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_head_count(heads)
    writer.add_head_count_kv(config.get("num_key_value_heads") or heads)
    writer.add_layer_norm_rms_eps(float(config.get("rms_norm_eps", 1e-5)))
    writer.add_rope_freq_base(float(config.get("rope_theta", 10000.0)))
    writer.add_rope_dimension_count(head_dim(config))
    writer.add_key_length(head_dim(config))
    writer.add_value_length(head_dim(config))
    writer.add_vocab_size(config["vocab_size"])
    scaling = config.get("rope_scaling") or {}
    if (scaling.get("rope_type") or scaling.get("type")) == "linear":
        import gguf

        writer.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        writer.add_rope_scaling_factor(float(scaling["factor"]))
    writer.add_file_type(file_type)


def write_model_gguf(model_dir, target, name: str, outtype: str = "f16", formatter=None,
                     stop_strings=()) -> Path:
    """Convert the 16-bit model in ``model_dir`` to a GGUF file at ``target`` (atomically);
    ``formatter`` (the run's) becomes ``tokenizer.chat_template``."""
    import gguf
    import mlx.core as mx
    import numpy as np

    from rvtune.core.atomic import atomic_path

    from .gguf_vocab import read_vocab

    if outtype not in OUTTYPES:
        raise UsageError(f"--outtype {outtype}: choose one of {', '.join(OUTTYPES)}")
    model_dir = Path(model_dir)
    config = json.loads((model_dir / "config.json").read_text())
    if config.get("quantization"):
        raise UsageError(f"{model_dir}: is quantized; GGUF export needs a 16-bit model")
    check_architecture(config, str(model_dir))
    shapes = safetensors_shapes(model_dir)
    rows = shapes["model.embed_tokens.weight"][0]
    config = {**config, "vocab_size": rows}
    vocab = read_vocab(model_dir, rows, stop_strings)
    plan = []
    for hf_name in sorted(shapes, key=_order):
        ours = gguf_name(hf_name)
        if ours is None:
            raise UsageError(f"{model_dir}: tensor '{hf_name}' has no llama.cpp counterpart; "
                             "export --format fused and convert it with llama.cpp's "
                             "convert_hf_to_gguf.py")
        plan.append((hf_name, ours, shapes[hf_name], tensor_type(gguf, shapes[hf_name],
                                                                outtype)))
    file_type = {"f16": gguf.LlamaFileType.MOSTLY_F16, "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0,
                 "f32": gguf.LlamaFileType.ALL_F32}[outtype]
    arrays = {}
    for path in sorted(model_dir.glob("*.safetensors")):
        arrays.update(mx.load(str(path)))
    with atomic_path(target) as tmp:
        writer = gguf.GGUFWriter(None, "llama")
        add_hparams(writer, config, name, file_type)
        vocab.write_to(writer)
        if formatter is not None:
            from .chat_template import chat_template

            writer.add_chat_template(chat_template(formatter, vocab.add_bos))
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
        for _hf, ours, shape, qtype in plan:
            nbytes = _nbytes(gguf, shape, qtype)
            writer.add_tensor_info(ours, shape, np.dtype(np.float32 if qtype == qtype.F32
                                                         else np.float16), nbytes,
                                   raw_dtype=qtype)
        writer.write_header_to_file(tmp)
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for hf_name, _ours, _shape, qtype in plan:
            value = np.array(arrays.pop(hf_name).astype(mx.float32))
            writer.write_tensor_data(encode(gguf, for_llama_cpp(hf_name, value, config),
                                            qtype))
        writer.close()
    return Path(target)


def _nbytes(gguf_mod, shape, qtype) -> int:
    block, size = gguf_mod.GGML_QUANT_SIZES[qtype]
    count = 1
    for dim in shape:
        count *= dim
    return count // block * size


def _order(name: str):
    # llama.cpp does not care about order; a stable, readable one (blocks in number order).
    parts = name.split(".")
    if len(parts) > 2 and parts[1] == "layers" and parts[2].isdigit():
        return (1, int(parts[2]), name)
    return (0 if "embed" in name else 2, 0, name)
