"""Finding and loading the base model: a local directory or a cached/downloadable hub id,
quantized to ``--bits`` on load when it is not quantized already."""

import json
import os
from dataclasses import dataclass
from pathlib import Path

from rvtune.core.errors import MissingDependencyError, UsageError

from rvtune.core.jobs import GROUP_SIZES, QUANT_BITS as BITS
_HUB_PATTERNS = ["*.json", "model*.safetensors", "tokenizer.model", "*.tiktoken", "*.txt",
                 "*.jinja"]


def _looks_like_path(model: str) -> bool:
    return model.startswith((".", "/", "~")) or model.count("/") != 1 or os.sep == "\\"


def resolve_model_path(model: str, log=None) -> Path:
    """A local directory holding the model: ``model`` itself, its hub snapshot, or the
    cached MLX conversion of a ``.gguf`` file (made on first use, see ``from_gguf``).

    A hub id is taken from the local Hugging Face cache, else downloaded (unless
    ``HF_HUB_OFFLINE=1``). Anything else is a one-line :class:`UsageError`.
    """
    from .from_gguf import gguf_model_dir, is_gguf

    if is_gguf(model):
        return gguf_model_dir(model, log=log or _stderr_log)
    local = Path(model).expanduser()
    if local.exists():
        check_model_dir(local, model)
        return local
    if _looks_like_path(model):
        raise UsageError(f"--model {model}: no such directory; give a local model directory, "
                         "a .gguf file, a Hugging Face id like "
                         "mistralai/Mistral-7B-Instruct-v0.3, or use --preset tiny")
    try:
        from huggingface_hub import snapshot_download
    except ImportError:  # pragma: no cover - mlx-lm depends on it
        raise MissingDependencyError("huggingface_hub is needed for hub models: "
                                     "pip install huggingface_hub") from None
    try:
        path = Path(snapshot_download(model, local_files_only=True,
                                      allow_patterns=_HUB_PATTERNS))
    except Exception:
        if os.environ.get("HF_HUB_OFFLINE"):
            path = None
        else:
            try:
                path = Path(snapshot_download(model, allow_patterns=_HUB_PATTERNS))
            except Exception as exc:
                raise UsageError(
                    f"--model {model}: not in the Hugging Face cache and the download "
                    f"failed ({type(exc).__name__}); check the id and your network, run "
                    f"`hf download {model}`, or pass --model /path/to/local/model-dir (or a "
                    ".gguf file), or use --preset tiny / --preset smollm2 offline") from None
        if path is None:
            raise UsageError(
                f"--model {model}: not in the Hugging Face cache and HF_HUB_OFFLINE is set; "
                f"download it with `hf download {model}`, pass --model /path/to/local/"
                "model-dir (or a .gguf file), or use --preset tiny / --preset smollm2")
    check_model_dir(path, model)
    return path


def _stderr_log(message: str) -> None:
    import sys

    print(message, file=sys.stderr, flush=True)


def check_model_dir(path: Path, model: str) -> None:
    """Raise a :class:`UsageError` unless ``path`` looks like an MLX/HF model directory."""
    if not path.is_dir():
        raise UsageError(f"--model {model}: is a file, not a model directory or a .gguf file; "
                         "give the directory holding config.json and *.safetensors, or a "
                         "GGUF file")
    config = path / "config.json"
    if not config.is_file():
        raise UsageError(f"--model {model}: not a model directory (no config.json); give a "
                         "directory with config.json, model*.safetensors and tokenizer files")
    try:
        data = json.loads(config.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"--model {model}: config.json is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or "model_type" not in data:
        raise UsageError(f"--model {model}: config.json has no 'model_type'; "
                         "is this a Hugging Face model directory?")
    if not any(path.glob("model*.safetensors")):
        raise UsageError(f"--model {model}: no model*.safetensors weights in {path}; "
                         "PyTorch .bin checkpoints must be converted (mlx_lm.convert)")


def read_model_config(path: Path) -> dict:
    """The model's ``config.json``."""
    return json.loads((Path(path) / "config.json").read_text())


@dataclass
class Quantization:
    """How the loaded base is quantized: ``bits`` 0 means full precision."""

    bits: int
    group_size: int | None
    on_load: bool  # quantized by rvtune on load (True) or stored quantized (False)


def check_bits(bits: int, group_size: int) -> None:
    """Reject unsupported ``--bits`` / ``--group-size`` values."""
    if bits not in BITS:
        raise UsageError(f"--bits {bits}: use one of {', '.join(map(str, BITS))} "
                         "(0 = plain LoRA on full-precision weights)")
    if group_size not in GROUP_SIZES:
        raise UsageError(f"--group-size {group_size}: use one of "
                         f"{', '.join(map(str, GROUP_SIZES))}")


def quantize_in_place(model, bits: int, group_size: int) -> None:
    """Quantize every layer that can be, like mlx-lm's converter (not LoRA layers)."""
    import mlx.nn as nn

    def wanted(_path, module):
        return hasattr(module, "to_quantized") and module.weight.shape[-1] % group_size == 0

    nn.quantize(model, group_size=group_size, bits=bits, class_predicate=wanted)


def load_tokenizer(path: Path, model_name: str | None = None):
    """The model's tokenizer, wrapped by mlx-lm (streaming detokenizer, EOS ids)."""
    from mlx_lm.utils import load_tokenizer as mlx_load_tokenizer

    try:
        eos = read_model_config(path).get("eos_token_id")
        return mlx_load_tokenizer(Path(path), eos_token_ids=eos)
    except Exception as exc:
        raise UsageError(f"--model {model_name or path}: cannot load its tokenizer "
                         f"({type(exc).__name__}: {_first_line(exc)})") from None


def _first_line(exc) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else ""


def _cpu_float32() -> bool:
    from .cpu import on_cpu

    return on_cpu() and os.environ.get("RVTUNE_CPU_DTYPE", "float32") == "float32"


def _casts_to_float32(model_config: dict) -> bool:
    """Whether ``load_base`` casts this model to float32: an unquantized model on the CPU."""
    return not model_config.get("quantization") and _cpu_float32()


def as_computed(model_config: dict) -> dict:
    """The model's config as ``load_base`` will compute with it: on the CPU an unquantized
    16-bit model is cast to float32, so the memory estimate must size it in float32
    (measured: 1.49 GB estimated at 16 bits against a 2.35 GB peak; 2.58 at 32 bits)."""
    if not _casts_to_float32(model_config):
        return model_config
    return {**model_config, "torch_dtype": "float32"}


def load_base(path: Path, bits: int, group_size: int, model_name: str | None = None,
              tokenizer=None):
    """Load model (and tokenizer, unless given) with mlx-lm; quantize to ``bits`` when the
    weights are not quantized yet. Returns ``(model, tokenizer, config, Quantization)``."""
    check_bits(bits, group_size)
    from mlx_lm.utils import load_model

    try:
        model, config = load_model(Path(path))
    except (ValueError, OSError, KeyError) as exc:
        raise UsageError(f"--model {model_name or path}: mlx-lm cannot load it "
                         f"({type(exc).__name__}: {_first_line(exc)})") from None
    if tokenizer is None:
        tokenizer = load_tokenizer(path, model_name)
    stored = config.get("quantization")
    if _casts_to_float32(config):
        # x86/ARM CPUs have no fast float16/bfloat16 products in MLX; float32 goes to BLAS.
        import mlx.core as mx

        model.set_dtype(mx.float32)
    if stored:
        quant = Quantization(stored.get("bits", 0), stored.get("group_size"), False)
    elif bits:
        quantize_in_place(model, bits, group_size)
        quant = Quantization(bits, group_size, True)
    else:
        quant = Quantization(0, None, False)
    return model, tokenizer, config, quant
