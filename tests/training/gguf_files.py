"""Small GGUF files written the way llama.cpp's converter writes them (q/k rows interleaved
for its RoPE, vocabulary and merges in the metadata), from the tiny model's weights."""

import json
from pathlib import Path

import numpy as np


def _interleave(weight: np.ndarray, heads: int) -> np.ndarray:
    # llama.cpp's convert_hf_to_gguf permutation of q/k rows (a fact of the format).
    rows = weight.shape[0]
    return (weight.reshape(heads, 2, rows // heads // 2, *weight.shape[1:])
            .swapaxes(1, 2).reshape(weight.shape))


GGUF_NAMES = {
    "input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
    "post_attention_layernorm": "ffn_norm", "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
}


def gguf_name(hf_name: str) -> str:
    top = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight":
           "output_norm.weight", "lm_head.weight": "output.weight"}
    if hf_name in top:
        return top[hf_name]
    _, _, layer, rest = hf_name.split(".", 3)
    module, leaf = rest.rsplit(".", 1)
    return f"blk.{layer}.{GGUF_NAMES[module]}.{leaf}"


def tiny_weights(model_dir: Path) -> dict:
    """The tiny model's weights as float32 numpy arrays, by Hugging Face name."""
    import mlx.core as mx

    weights = mx.load(str(model_dir / "model.safetensors"))
    return {k: np.array(v.astype(mx.float32)) for k, v in weights.items()}


def write_gguf(model_dir: Path, out: Path, qtype: str = "F32", arch: str = "llama",
               truncate: bool = False, pre: str = "default") -> Path:
    """Write the model in ``model_dir`` as a GGUF file with 2-D weights of type ``qtype``."""
    import gguf
    from gguf import quants

    config = json.loads((model_dir / "config.json").read_text())
    heads, kv = config["num_attention_heads"], config["num_key_value_heads"]
    writer = gguf.GGUFWriter(str(out), arch)
    writer.add_name("rvtune test model")
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv)
    writer.add_key_length(config["head_dim"])
    writer.add_value_length(config["head_dim"])
    writer.add_rope_dimension_count(config["head_dim"])
    writer.add_rope_freq_base(config["rope_theta"])
    writer.add_layer_norm_rms_eps(config["rms_norm_eps"])
    tok = json.loads((model_dir / "tokenizer.json").read_text())
    vocab = sorted(tok["model"]["vocab"].items(), key=lambda kv_: kv_[1])
    added = {t["content"]: t for t in tok.get("added_tokens", [])}
    tokens = [t for t, _ in vocab]
    for content in added:
        if content not in tok["model"]["vocab"]:
            tokens.append(content)
    types = [3 if added.get(t, {}).get("special") else 4 if t in added else 1 for t in tokens]
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok["model"]["merges"]]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(config["bos_token_id"])
    writer.add_eos_token_id(config["eos_token_id"])
    writer.add_add_bos_token(True)
    for name, value in tiny_weights(model_dir).items():
        if name.endswith("self_attn.q_proj.weight"):
            value = _interleave(value, heads)
        elif name.endswith("self_attn.k_proj.weight"):
            value = _interleave(value, kv)
        kind = qtype if value.ndim == 2 else "F32"
        if kind == "F32":
            writer.add_tensor(gguf_name(name), value.astype(np.float32))
        elif kind == "F16":
            writer.add_tensor(gguf_name(name), value.astype(np.float16))
        else:
            qt = gguf.GGMLQuantizationType[kind]
            writer.add_tensor(gguf_name(name), quants.quantize(value, qt), raw_dtype=qt)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    if truncate:
        data = out.read_bytes()
        out.write_bytes(data[: len(data) * 2 // 3])
    return out
