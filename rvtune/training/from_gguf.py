"""``--model FILE.gguf``: turn a GGUF file (llama.cpp, Ollama, LM Studio) into an MLX model
directory once, cache it by the file's content hash, and reuse it.

The directory holds what mlx-lm and transformers expect: ``config.json`` built from the GGUF
metadata, dequantized weights in ``model*.safetensors`` under Hugging Face tensor names (the
q/k rows that llama.cpp's converter interleaves for its RoPE are put back in order), and the
tokenizer with its chat template, rebuilt from the GGUF's vocabulary (gguf_tokenizer.py). The
base is then quantized on load like any other model (``--bits``).

Weights are read with the ``gguf`` package (llama.cpp's own Python reader); every tensor type
its ``gguf.quants`` can dequantize is accepted. See docs/gguf-models.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from rvtune.core.errors import DataError, MissingDependencyError, UsageError

from .gguf_tokenizer import field as _field

#: Bump when the conversion changes so that old cache entries are not reused.
CONVERTER_VERSION = 2  # 2: the tokenizer is built by rvtune (gguf_tokenizer), not transformers
ARCHITECTURES = ("llama", "mistral")
#: Types tested by rvtune's own tests; others go through gguf.quants when it knows them.
TESTED_TYPES = ("F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1")
SHARD_BYTES = 2 << 30
MARKER = "rvtune_gguf.json"

# llama.cpp tensor name (after "blk.N.") -> Hugging Face name (after "model.layers.N.").
_BLOCK_NAMES = {
    "attn_norm": "input_layernorm",
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_norm": "post_attention_layernorm",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}
_TOP_NAMES = {
    "token_embd.weight": "model.embed_tokens.weight",
    "output_norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
}


def is_gguf(model: str) -> bool:
    """True when ``--model`` names a ``.gguf`` file (existing or not)."""
    return str(model).lower().endswith(".gguf")


def _cache_dir() -> Path:
    from .tiny import cache_root

    return cache_root() / "gguf"


def _option(model: str) -> str:
    return f"--model {model}"


def gguf_model_dir(model: str, log=None) -> Path:
    """The MLX model directory for the GGUF file ``model``, converted on first use.

    The cache key is the file's SHA-256, so a renamed or copied file is not converted twice
    and a file changed in place is converted again. ``log`` receives progress lines.
    """
    path = Path(model).expanduser()
    if not path.is_file():
        raise UsageError(f"{_option(model)}: no such GGUF file; give the path of a .gguf "
                         "file (e.g. from Ollama or LM Studio) or a model directory")
    root = _cache_dir()
    digest = _known_digest(root, path) or _hash_file(path, log)
    out = root / f"{digest[:24]}-v{CONVERTER_VERSION}"
    if (out / MARKER).is_file():
        _remember(root, path, digest)
        return out
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".convert-", dir=root))
    work.chmod(0o755)  # mkdtemp's 0700 would follow the directory into the cache
    try:
        convert(path, work, digest=digest, log=log)
        try:
            os.rename(work, out)
        except OSError:
            if not (out / MARKER).is_file():  # a concurrent conversion that won is fine
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _remember(root, path, digest)
    if log:
        log(f"Converted {path.name} into {out} (reused from now on)")
    return out


def _stat_key(path: Path) -> str:
    st = path.stat()
    return f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"


def _known_digest(root: Path, path: Path) -> str | None:
    """A digest recorded for this exact file (path, size, mtime): skips re-hashing."""
    try:
        index = json.loads((root / "index.json").read_text())
        return index.get(_stat_key(path))
    except (OSError, ValueError):
        return None


def _remember(root: Path, path: Path, digest: str) -> None:
    from rvtune.core.atomic import write_json

    try:
        index = json.loads((root / "index.json").read_text())
    except (OSError, ValueError):
        index = {}
    if index.get(_stat_key(path)) == digest:
        return
    index[_stat_key(path)] = digest
    try:
        write_json(root / "index.json", index)
    except OSError:
        pass  # only a shortcut: the next call hashes the file again


def _hash_file(path: Path, log=None) -> str:
    size = path.stat().st_size
    if log and size > 1 << 30:
        log(f"Hashing {path.name} ({size / 2**30:.1f} GiB) to find its cached conversion ...")
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------- reading


def _reader(path: Path):
    try:
        import gguf
    except ImportError:
        raise MissingDependencyError("reading GGUF files needs the gguf package: "
                                     "pip install gguf") from None
    try:
        return gguf.GGUFReader(str(path))
    except Exception as exc:  # truncated, not a GGUF, wrong version ...
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{path}: not a readable GGUF file ({detail[:200]}); check that the "
                        "download finished and that it is a .gguf model file") from None


def read_config(reader, path: Path) -> dict:
    """A Hugging Face ``config.json`` for the GGUF's llama/mistral hyper-parameters."""
    arch = _field(reader, "general.architecture")
    if arch not in ARCHITECTURES:
        raise UsageError(f"{path}: GGUF architecture '{arch}' is not supported (supported: "
                         f"{', '.join(ARCHITECTURES)}); convert the original Hugging Face "
                         "model directory instead and pass it to --model")
    if reader.fields.get(f"{arch}.expert_count") and _field(reader, f"{arch}.expert_count"):
        raise UsageError(f"{path}: mixture-of-experts GGUF files are not supported; pass the "
                         "Hugging Face model directory instead")

    def need(key):
        value = _field(reader, f"{arch}.{key}")
        if value is None:
            raise DataError(f"{path}: GGUF metadata lacks '{arch}.{key}'; the file is "
                            "incomplete or was written by an unusual converter")
        return value

    if any(t.name == "rope_freqs.weight" for t in reader.tensors):
        raise UsageError(f"{path}: uses per-frequency RoPE scaling (rope_freqs, as in Llama "
                         "3.1); rvtune cannot map it to mlx-lm yet; pass the Hugging Face "
                         "model directory instead")
    hidden = int(need("embedding_length"))
    heads = int(need("attention.head_count"))
    embed = next((t for t in reader.tensors if t.name == "token_embd.weight"), None)
    if embed is None:
        raise DataError(f"{path}: has no token_embd.weight tensor; not a complete model")
    config = {
        "architectures": ["LlamaForCausalLM" if arch == "llama" else "MistralForCausalLM"],
        "model_type": arch,
        "hidden_size": hidden,
        "intermediate_size": int(need("feed_forward_length")),
        "num_hidden_layers": int(need("block_count")),
        "num_attention_heads": heads,
        "num_key_value_heads": int(_field(reader, f"{arch}.attention.head_count_kv", heads)),
        "head_dim": int(_field(reader, f"{arch}.attention.key_length", hidden // heads)),
        "rms_norm_eps": float(need("attention.layer_norm_rms_epsilon")),
        "rope_theta": float(_field(reader, f"{arch}.rope.freq_base", 10000.0)),
        "max_position_embeddings": int(_field(reader, f"{arch}.context_length", 4096)),
        "vocab_size": int(embed.shape[-1]),
        "tie_word_embeddings": not any(t.name == "output.weight" for t in reader.tensors),
        "attention_bias": False,
        "mlp_bias": False,
    }
    scaling = _field(reader, f"{arch}.rope.scaling.type")
    if scaling and scaling != "none":
        if scaling != "linear":
            raise UsageError(f"{path}: RoPE scaling '{scaling}' is not supported (only "
                             "linear); pass the Hugging Face model directory instead")
        config["rope_scaling"] = {"type": "linear",
                                  "factor": float(need("rope.scaling.factor"))}
    window = _field(reader, f"{arch}.attention.sliding_window")
    if window:
        config["sliding_window"] = int(window)
    for key in ("bos", "eos", "padding"):
        value = _field(reader, f"tokenizer.ggml.{key}_token_id")
        if value is not None:
            config["pad_token_id" if key == "padding" else f"{key}_token_id"] = int(value)
    return config


def _hf_name(name: str) -> str | None:
    if name in _TOP_NAMES:
        return _TOP_NAMES[name]
    parts = name.split(".")
    if len(parts) == 4 and parts[0] == "blk" and parts[2] in _BLOCK_NAMES:
        return f"model.layers.{parts[1]}.{_BLOCK_NAMES[parts[2]]}.{parts[3]}"
    return None


def _unpermute(weight, heads: int):
    """Undo llama.cpp's q/k row interleave (its converter's ``permute``) for ``heads``."""
    rows = weight.shape[0]
    return (weight.reshape(heads, rows // heads // 2, 2, *weight.shape[1:])
            .swapaxes(1, 2).reshape(weight.shape))


def supported_types() -> list[str]:
    """GGUF tensor types rvtune can read: whatever the installed gguf package dequantizes."""
    import gguf
    from gguf import quants

    known = getattr(quants, "_type_traits", {})
    return ["F32", "F16"] + [gguf.GGMLQuantizationType(t).name for t in known]


def _check_types(reader, path: Path) -> list[str]:
    import gguf

    allowed = set(supported_types()) | set(TESTED_TYPES)
    names = [gguf.GGMLQuantizationType(t.tensor_type).name for t in reader.tensors]
    unknown = [f"{t.name} ({kind})" for t, kind in zip(reader.tensors, names)
               if kind not in allowed]
    if unknown:
        more = f" and {len(unknown) - 1} more" if len(unknown) > 1 else ""
        raise UsageError(f"{path}: tensor type not supported: {unknown[0]}{more}; supported: "
                         f"{', '.join(sorted(allowed))}; re-export the model as Q8_0 or F16")
    return names


def _dequantize(tensor, path: Path):
    import gguf
    import numpy as np
    from gguf import quants

    kind = gguf.GGMLQuantizationType(tensor.tensor_type).name
    try:
        if kind in ("F32", "F16"):
            data = np.asarray(tensor.data, dtype=np.float32)
        else:
            data = quants.dequantize(np.asarray(tensor.data), tensor.tensor_type)
    except NotImplementedError:
        raise UsageError(f"{path}: tensor {tensor.name} has type {kind}, which the installed "
                         "gguf package cannot dequantize; upgrade gguf (pip install -U gguf) "
                         f"or use a file with {', '.join(TESTED_TYPES)} tensors") from None
    except ValueError as exc:
        raise DataError(f"{path}: tensor {tensor.name} cannot be read ({exc}); the file is "
                        "damaged or truncated") from None
    # GGUF lists dimensions fastest-first; numpy wants them the other way round.
    shape = tuple(int(d) for d in reversed(tensor.shape.tolist()))
    if data.size != int(np.prod(shape)):
        raise DataError(f"{path}: tensor {tensor.name} holds {data.size} values, its header "
                        f"says {shape}; the file is damaged or truncated")
    return data.reshape(shape)


def convert(path: Path, out: Path, digest: str = "", log=None) -> dict:
    """Write the MLX/Hugging Face model directory for GGUF ``path`` into ``out``.

    Returns the config. Raises :class:`UsageError` / :class:`DataError` with one line for
    unsupported architectures or tensor types and for damaged files.
    """
    import mlx.core as mx

    path = Path(path)
    out = Path(out)
    if path.stat().st_size < 32:
        raise DataError(f"{path}: too short to be a GGUF file ({path.stat().st_size} bytes)")
    reader = _reader(path)
    config = read_config(reader, path)
    types = _check_types(reader, path)
    # Keep the file's precision: float32 files stay float32, bfloat16 ones bfloat16, and
    # dequantized blocks (float16 scales) become float16.
    if "BF16" in types:
        target, config["torch_dtype"] = mx.bfloat16, "bfloat16"
    elif set(types) == {"F32"}:
        target, config["torch_dtype"] = mx.float32, "float32"
    else:
        target, config["torch_dtype"] = mx.float16, "float16"
    heads, kv_heads = config["num_attention_heads"], config["num_key_value_heads"]

    skipped = [t.name for t in reader.tensors if _hf_name(t.name) is None]
    if skipped:
        raise UsageError(f"{path}: unexpected tensor '{skipped[0]}' for a {config['model_type']}"
                         " model; rvtune cannot convert this variant, pass the Hugging Face "
                         "model directory instead")
    out.mkdir(parents=True, exist_ok=True)
    from .gguf_tokenizer import write_tokenizer

    write_tokenizer(reader, path, out, config["vocab_size"], log=log)  # first: fails fast
    shards, current, size, index = [], {}, 0, {}
    tensors = list(reader.tensors)
    progress = _Progress(len(tensors), f"Converting {path.name}", log)
    for tensor in tensors:
        name = _hf_name(tensor.name)
        data = _dequantize(tensor, path)
        if name.endswith("self_attn.q_proj.weight"):
            data = _unpermute(data, heads)
        elif name.endswith("self_attn.k_proj.weight"):
            data = _unpermute(data, kv_heads)
        current[name] = mx.array(data).astype(target)
        size += current[name].nbytes
        progress.advance()
        if size >= SHARD_BYTES:
            shards.append(current)
            current, size = {}, 0
    if current:
        shards.append(current)
    progress.close()
    total = len(shards)
    for number, weights in enumerate(shards, 1):
        filename = ("model.safetensors" if total == 1
                    else f"model-{number:05d}-of-{total:05d}.safetensors")
        mx.eval(weights)
        mx.save_safetensors(str(out / filename), weights, metadata={"format": "mlx"})
        index.update({k: filename for k in weights})
    if total > 1:
        (out / "model.safetensors.index.json").write_text(
            json.dumps({"metadata": {}, "weight_map": index}, indent=1))
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    from rvtune import __version__

    marker = {"source": str(path.resolve()), "sha256": digest, "rvtune": __version__,
              "converter_version": CONVERTER_VERSION,
              "tensor_types": {k: types.count(k) for k in sorted(set(types))},
              "name": _field(reader, "general.name"), "architecture": config["model_type"]}
    (out / MARKER).write_text(json.dumps(marker, indent=2) + "\n")
    return config


class _Progress:
    """A rich progress bar on a terminal, a few plain lines otherwise."""

    def __init__(self, total: int, label: str, log=None):
        import sys

        self.total, self.done, self.label, self.log = total, 0, label, log
        self.bar = None
        if log is not None and sys.stderr.isatty():
            from rich.progress import Progress

            self.bar = Progress(transient=True)
            self.bar.start()
            self.task = self.bar.add_task(label, total=total)
        elif log is not None:
            log(f"{label}: {total} tensors ...")

    def advance(self) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(self.task, completed=self.done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
