"""One LoRA adapter in memory, read from and written to every adapter format rvtune knows.

:class:`LoraAdapter` holds the tensors under mlx-lm's parameter names
(``model.layers.0.self_attn.q_proj.lora_a``, shape ``(in, rank)``; ``...lora_b``, shape
``(rank, out)``) as float32 numpy arrays, plus the settings needed to rebuild the LoRA layers.
Readers: ``adapters.npz`` (:func:`read_npz`), an mlx-lm adapter directory (:func:`read_mlx`),
a Hugging Face PEFT directory (:func:`read_peft`); :func:`read_adapter` picks by looking.
Writers produce the same three formats. Only numpy, json and safetensors are imported here.
"""

import json
import math
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from rvtune.core.errors import DataError, UsageError
from rvtune.training.adapters import CONFIG_KEY

#: Where ``adapters.npz`` keeps its settings: a uint8 array holding UTF-8 JSON.
NPZ_CONFIG_KEY = CONFIG_KEY
MLX_WEIGHTS = "adapters.safetensors"
MLX_CONFIG = "adapter_config.json"
PEFT_WEIGHTS = "adapter_model.safetensors"
PEFT_WEIGHTS_BIN = "adapter_model.bin"
PEFT_CONFIG = "adapter_config.json"
PEFT_PREFIX = "base_model.model."

_BLOCK = re.compile(r"^model\.layers\.(\d+)\.(.+)\.(lora_a|lora_b)$")
_ANY = re.compile(r"^(.+)\.(lora_a|lora_b)$")


@dataclass
class LoraAdapter:
    """A LoRA adapter: tensors under mlx-lm names and the settings that rebuild it."""

    weights: dict
    rank: int
    scale: float
    dropout: float = 0.0
    #: Module paths inside a block that carry LoRA, e.g. ``("self_attn.q_proj", ...)``.
    keys: tuple = ()
    #: mlx-lm's ``num_layers``: LoRA on the last N blocks; -1 means all blocks.
    num_layers: int = -1
    #: The base model the adapter was trained on (path or hub id), when known.
    model: str | None = None
    #: Extra settings carried along (bits, group size, formatter...), when known.
    extra: dict = field(default_factory=dict)
    #: Where it was read from, for error messages.
    source: str = "adapter"

    @property
    def modules(self) -> list[str]:
        """The full module paths that carry LoRA (``model.layers.3.self_attn.q_proj``)."""
        return sorted({_ANY.match(n).group(1) for n in self.weights},
                      key=_natural_key)

    @property
    def layers(self) -> list[int]:
        """The block indices that carry LoRA."""
        found = {int(m.group(1)) for n in self.weights if (m := _BLOCK.match(n))}
        return sorted(found)

    def settings(self) -> dict:
        """The settings as stored beside the tensors: mlx-lm's ``adapter_config.json``
        layout plus extras (bits, group size...)."""
        return {**self.extra, "fine_tune_type": "lora", "model": self.model,
                "num_layers": self.num_layers,
                "lora_parameters": {"rank": self.rank, "scale": self.scale,
                                    "dropout": self.dropout, "keys": list(self.keys)}}

    def check(self) -> None:
        """Refuse tensors that cannot form a LoRA adapter (names, pairs, ranks)."""
        if not self.weights:
            raise DataError(f"{self.source}: holds no LoRA tensors; export the adapter again")
        for name, array in self.weights.items():
            match = _ANY.match(name)
            if not match:
                raise DataError(f"{self.source}: tensor '{name}' is not a LoRA tensor "
                                "(expected names ending in .lora_a or .lora_b)")
            if array.ndim != 2:
                raise DataError(f"{self.source}: tensor '{name}' has shape "
                                f"{tuple(array.shape)}; LoRA tensors are 2-D")
            other = name[:-1] + ("b" if name.endswith("a") else "a")
            if other not in self.weights:
                raise DataError(f"{self.source}: tensor '{name}' has no partner '{other}'; "
                                "the file is incomplete, export it again")
            rank_axis = 1 if name.endswith("lora_a") else 0
            if array.shape[rank_axis] != self.rank:
                raise DataError(f"{self.source}: tensor '{name}' has rank "
                                f"{array.shape[rank_axis]} but the adapter says rank "
                                f"{self.rank}; the settings and tensors disagree")
        if not math.isfinite(self.scale):
            raise DataError(f"{self.source}: LoRA scale {self.scale} is not a number")
        if self.model is not None and not isinstance(self.model, str):
            raise DataError(f"{self.source}: its base model setting is {self.model!r}, not a "
                            "name or path; fix 'model' in its settings or pass --model")
        import numpy as np

        for name, array in self.weights.items():
            if not np.isfinite(np.asarray(array)).all():
                raise DataError(f"{self.source}: tensor '{name}' holds NaN or inf (the "
                                "training diverged); use an earlier checkpoint or train again "
                                "with a lower --learning-rate")

    def block_suffix_layers(self, total_layers: int) -> int:
        """mlx-lm's ``num_layers`` for these tensors, which must cover the last N blocks."""
        layers = self.layers
        if not layers:
            return self.num_layers
        n = total_layers - layers[0]
        if layers != list(range(layers[0], total_layers)):
            raise UsageError(
                f"{self.source}: LoRA sits on blocks {layers}, but an mlx-lm adapter can "
                f"only cover the last N of the {total_layers} blocks; export it as "
                "--format peft or --format fused instead"
            )
        return n


def _natural_key(name: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def _keys_from_weights(weights: dict) -> tuple:
    keys = []
    for name in weights:
        match = _BLOCK.match(name)
        key = match.group(2) if match else _ANY.match(name).group(1)
        if key not in keys:
            keys.append(key)
    return tuple(sorted(keys))


def _to_numpy(array):
    """An mlx or numpy array as a float32 numpy array."""
    import numpy as np

    if type(array).__module__.startswith("mlx"):
        import mlx.core as mx

        return np.array(array.astype(mx.float32))
    return np.asarray(array, dtype=np.float32)


def _readable(path: Path, what: str) -> Path:
    if not path.exists():
        raise UsageError(f"{path}: no such {what}; check the path")
    return path


def _load_json(path: Path) -> dict:
    try:
        data = json.loads(_readable(path, "file").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc}); the file is damaged, "
                        "export the adapter again") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object of adapter settings")
    return data


def _load_safetensors(path: Path) -> dict:
    """Tensors of a safetensors file as float32 numpy arrays (bfloat16 included)."""
    _readable(path, "file")
    try:
        import mlx.core as mx

        loaded = mx.load(str(path))
        if not isinstance(loaded, dict):
            raise ValueError("not a safetensors file")
        return {name: _to_numpy(value) for name, value in loaded.items()}
    except Exception as exc:
        raise DataError(f"{path}: not a readable safetensors file ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else 'damaged'}); it is "
                        "truncated or damaged, export the adapter again") from None


def _setting(config: dict, key: str, where: Path, kind=float):
    if key not in config:
        raise DataError(f"{where}: adapter settings lack '{key}'; export the adapter again")
    try:
        return kind(config[key])
    except (TypeError, ValueError):
        raise DataError(f"{where}: adapter setting '{key}' = {config[key]!r} is not a "
                        f"{kind.__name__}") from None


# ---------------------------------------------------------------------------- npz


def read_npz(path) -> LoraAdapter:
    """Read ``adapters.npz``: tensors under mlx-lm names and settings stored beside them.

    Pickled content is refused (``allow_pickle=False``): an adapter file must never run code.
    """
    import numpy as np

    path = _readable(Path(path), "adapter file")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except ValueError as exc:
        if "pickle" in str(exc):
            raise DataError(f"{path}: holds pickled Python objects, which rvtune refuses to "
                            "load (they can run code); re-export it with `rvtune export "
                            "--format npz`") from None
        raise DataError(f"{path}: not a readable .npz adapter ({exc})") from None
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as exc:
        raise DataError(f"{path}: not a readable .npz adapter ({type(exc).__name__}: "
                        f"{exc}); it is truncated or damaged, export it again") from None
    raw = arrays.pop(NPZ_CONFIG_KEY, None)
    if raw is None:
        raise DataError(f"{path}: has no LoRA settings ('{NPZ_CONFIG_KEY}' array); it was "
                        "not written by rvtune, load it with --model and an adapter "
                        "directory instead, or re-export it with `rvtune export --format npz`")
    try:
        config = json.loads(bytes(raw.astype(np.uint8)).decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: its LoRA settings are not valid JSON ({exc})") from None
    if not isinstance(config, dict):
        raise DataError(f"{path}: its LoRA settings are not a JSON object")
    config = {**(config.get("lora_parameters") or {}), **config}
    weights = {name: _to_numpy(a) for name, a in arrays.items()}
    adapter = LoraAdapter(
        weights=weights,
        rank=_setting(config, "rank", path, int),
        scale=_setting(config, "scale", path),
        dropout=float(config.get("dropout", 0.0) or 0.0),
        keys=tuple(config.get("keys") or _keys_from_weights(weights)),
        num_layers=int(config.get("num_layers", -1)),
        model=config.get("model"),
        extra={k: v for k, v in config.items()
               if k not in ("rank", "scale", "dropout", "keys", "num_layers", "model",
                            "lora_parameters", "fine_tune_type")},
        source=str(path),
    )
    if config.get("fine_tune_type", "lora") != "lora":
        raise DataError(f"{path}: fine_tune_type '{config['fine_tune_type']}' is not "
                        "supported; rvtune reads LoRA adapters")
    adapter.check()
    return adapter


def write_npz(adapter: LoraAdapter, target) -> Path:
    """Write ``adapters.npz`` atomically (numpy arrays only, no pickle), with the trainer's
    writer so both produce the same file."""
    from rvtune.training.adapters import save_npz

    return save_npz(Path(target), adapter.weights, adapter.settings())


# ---------------------------------------------------------------------------- mlx


def read_mlx(path) -> LoraAdapter:
    """Read an mlx-lm adapter directory (``adapters.safetensors`` + ``adapter_config.json``)."""
    path = _readable(Path(path), "adapter directory")
    config = _load_json(path / MLX_CONFIG)
    kind = config.get("fine_tune_type", "lora")
    if kind != "lora":
        raise DataError(f"{path / MLX_CONFIG}: fine_tune_type '{kind}' is not supported; "
                        "rvtune reads LoRA adapters (not DoRA or full fine-tunes)")
    params = config.get("lora_parameters")
    if not isinstance(params, dict):
        raise DataError(f"{path / MLX_CONFIG}: has no 'lora_parameters'; this is not an "
                        "mlx-lm LoRA adapter directory")
    weights = _load_safetensors(path / MLX_WEIGHTS)
    adapter = LoraAdapter(
        weights=weights,
        rank=_setting(params, "rank", path / MLX_CONFIG, int),
        scale=_setting(params, "scale", path / MLX_CONFIG),
        dropout=float(params.get("dropout", 0.0) or 0.0),
        keys=tuple(params.get("keys") or _keys_from_weights(weights)),
        num_layers=int(config.get("num_layers", -1)),
        model=config.get("model"),
        extra={k: v for k, v in config.items()
               if k not in ("fine_tune_type", "model", "num_layers", "lora_parameters")},
        source=str(path),
    )
    adapter.check()
    return adapter


def write_mlx(adapter: LoraAdapter, target, total_layers: int | None = None) -> Path:
    """Write an mlx-lm adapter directory atomically; ``mlx_lm.load(adapter_path=...)`` reads it."""
    import numpy as np
    from safetensors.numpy import save_file

    from rvtune.core.atomic import atomic_path

    num_layers = (adapter.block_suffix_layers(total_layers) if total_layers
                  else adapter.num_layers)
    config = {
        "fine_tune_type": "lora",
        "model": adapter.model,
        "num_layers": num_layers,
        "lora_parameters": {"rank": adapter.rank, "scale": adapter.scale,
                            "dropout": adapter.dropout, "keys": list(adapter.keys)},
    }
    config = {**adapter.extra, **config}
    target = Path(target)
    with atomic_path(target) as tmp:
        tmp.mkdir()
        save_file({k: np.ascontiguousarray(v) for k, v in adapter.weights.items()},
                  str(tmp / MLX_WEIGHTS), metadata={"format": "mlx"})
        (tmp / MLX_CONFIG).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return target


# ---------------------------------------------------------------------------- peft


def to_peft_name(name: str) -> str:
    """``model.layers.0.self_attn.q_proj.lora_a`` -> ``base_model.model.model.layers.0.
    self_attn.q_proj.lora_A.weight`` (the tensor itself is transposed)."""
    module, leaf = _ANY.match(name).groups()
    return f"{PEFT_PREFIX}{module}.{'lora_A' if leaf == 'lora_a' else 'lora_B'}.weight"


def from_peft_name(name: str) -> str | None:
    """The inverse of :func:`to_peft_name`; None for a tensor that is not a LoRA A/B."""
    match = re.match(r"^(?:base_model\.model\.)?(.+)\.(lora_A|lora_B)(?:\.[^.]+)?\.weight$",
                     name)
    if not match:
        return None
    module, leaf = match.groups()
    return f"{module}.{'lora_a' if leaf == 'lora_A' else 'lora_b'}"


def peft_config(adapter: LoraAdapter, total_layers: int | None = None,
                base_model: str | None = None) -> dict:
    """The ``adapter_config.json`` PEFT expects for this adapter."""
    layers = adapter.layers
    all_layers = total_layers is not None and layers == list(range(total_layers))
    config = {
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": base_model or adapter.model,
        "r": adapter.rank,
        "lora_alpha": adapter.scale * adapter.rank,
        "lora_dropout": adapter.dropout,
        "target_modules": sorted(adapter.keys),
        "bias": "none",
        "fan_in_fan_out": False,
        "use_rslora": False,
        "use_dora": False,
        "inference_mode": True,
        "init_lora_weights": True,
        "modules_to_save": None,
        "rank_pattern": {},
        "alpha_pattern": {},
        "layers_to_transform": None if (all_layers or not layers) else layers,
        "layers_pattern": None if (all_layers or not layers) else "layers",
        "revision": None,
    }
    return config


def write_peft(adapter: LoraAdapter, target, total_layers: int | None = None,
               base_model: str | None = None) -> Path:
    """Write a Hugging Face PEFT adapter directory atomically.

    ``lora_A.weight`` is ``lora_a`` transposed (``(rank, in)``), ``lora_B.weight`` is
    ``lora_b`` transposed (``(out, rank)``), and ``lora_alpha = scale * rank`` so that PEFT's
    ``lora_alpha / r`` equals mlx-lm's ``scale``.
    """
    import numpy as np
    from safetensors.numpy import save_file

    from rvtune.core.atomic import atomic_path

    tensors = {to_peft_name(n): np.ascontiguousarray(w.T) for n, w in adapter.weights.items()}
    config = peft_config(adapter, total_layers, base_model)
    target = Path(target)
    with atomic_path(target) as tmp:
        tmp.mkdir()
        save_file(tensors, str(tmp / PEFT_WEIGHTS), metadata={"format": "pt"})
        (tmp / PEFT_CONFIG).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        (tmp / "README.md").write_text(_peft_readme(config), encoding="utf-8")
    return target


def _peft_readme(config: dict) -> str:
    base = config["base_model_name_or_path"] or "BASE_MODEL"
    return (
        "---\nlibrary_name: peft\n"
        f"base_model: {base}\n---\n\n"
        "# LoRA adapter exported by rvtune\n\n"
        "```python\n"
        "from transformers import AutoModelForCausalLM\n"
        "from peft import PeftModel\n\n"
        f"base = AutoModelForCausalLM.from_pretrained({base!r})\n"
        "model = PeftModel.from_pretrained(base, 'PATH_TO_THIS_DIRECTORY')\n"
        "```\n"
    )


def read_peft(path) -> LoraAdapter:
    """Read a Hugging Face PEFT LoRA adapter directory (safetensors weights)."""
    path = _readable(Path(path), "adapter directory")
    config_path = path / PEFT_CONFIG
    config = _load_json(config_path)
    if config.get("peft_type", "LORA") != "LORA":
        raise DataError(f"{config_path}: peft_type '{config.get('peft_type')}' is not "
                        "supported; rvtune reads LoRA adapters")
    for key, wrong, why in (("use_dora", True, "DoRA"), ("fan_in_fan_out", True,
                                                          "fan_in_fan_out layers"),
                            ("rank_pattern", None, "per-module ranks (rank_pattern)"),
                            ("alpha_pattern", None, "per-module alphas (alpha_pattern)"),
                            ("modules_to_save", None, "modules_to_save")):
        value = config.get(key)
        if (wrong is True and value) or (wrong is None and value):
            raise DataError(f"{config_path}: {why} cannot be expressed as an mlx-lm LoRA "
                            "adapter; export the adapter without it")
    if config.get("bias", "none") != "none":
        raise DataError(f"{config_path}: bias '{config['bias']}' is not supported; only "
                        "bias 'none' maps to mlx-lm LoRA")
    if not (path / PEFT_WEIGHTS).exists() and (path / PEFT_WEIGHTS_BIN).exists():
        raise DataError(f"{path}: holds only {PEFT_WEIGHTS_BIN} (a pickle), which rvtune "
                        f"refuses to load; save it as {PEFT_WEIGHTS} "
                        "(model.save_pretrained(..., safe_serialization=True))")
    rank = _setting(config, "r", config_path, int)
    alpha = _setting(config, "lora_alpha", config_path)
    scale = alpha / math.sqrt(rank) if config.get("use_rslora") else alpha / rank
    weights = {}
    for name, tensor in _load_safetensors(path / PEFT_WEIGHTS).items():
        ours = from_peft_name(name)
        if ours is None:
            raise DataError(f"{path / PEFT_WEIGHTS}: tensor '{name}' is not a LoRA A/B "
                            "weight; rvtune reads plain LoRA adapters")
        weights[ours] = tensor.T.copy()
    adapter = LoraAdapter(weights=weights, rank=rank, scale=scale,
                          dropout=float(config.get("lora_dropout", 0.0) or 0.0),
                          keys=_keys_from_weights(weights) if weights else (),
                          num_layers=-1, model=config.get("base_model_name_or_path"),
                          source=str(path))
    adapter.check()
    return adapter


# ---------------------------------------------------------------------------- any


def adapter_kind(path) -> str:
    """'npz', 'mlx', 'peft' or 'run' for an adapter path; a clear error otherwise."""
    path = Path(path).expanduser()
    if not path.exists():
        raise UsageError(f"{path}: no such adapter file or directory; pass an adapters.npz "
                         "file, an MLX or PEFT adapter directory, or a run directory")
    if path.is_file():
        if path.suffix == ".npz":
            return "npz"
        if path.name == MLX_WEIGHTS:
            return "mlx"
        raise UsageError(f"{path}: not an adapter file (expected adapters.npz or an "
                         "adapter directory)")
    if (path / MLX_WEIGHTS).exists():
        return "mlx"
    if (path / PEFT_WEIGHTS).exists() or (path / PEFT_WEIGHTS_BIN).exists():
        return "peft"
    if (path / "adapters" / MLX_WEIGHTS).exists() or (path / "adapters.npz").exists():
        return "run"
    raise UsageError(f"{path}: holds no adapter ({MLX_WEIGHTS}, {PEFT_WEIGHTS}, adapters.npz "
                     "or a run's adapters/); pass an adapter file, directory or run directory")


def read_adapter(path) -> LoraAdapter:
    """Read an adapter of any kind: ``adapters.npz``, an MLX or PEFT directory, or a run.

    A file damaged in a way no reader names (a wrong type in its settings, bytes a zip or
    safetensors reader chokes on) is a :class:`DataError` naming it, never a crash."""
    from rvtune.core.errors import RvtuneError

    try:
        return _read_any(path)
    except RvtuneError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, ZeroDivisionError, AttributeError,
            NotImplementedError, RuntimeError, OverflowError, zipfile.BadZipFile,
            EOFError) as exc:
        raise DataError(f"{path}: not a readable adapter ({type(exc).__name__}: "
                        f"{str(exc)[:200]}); it is damaged or was not written by a LoRA "
                        "trainer, export it again") from None


def _read_any(path) -> LoraAdapter:
    path = Path(path).expanduser()
    kind = adapter_kind(path)
    if kind == "npz":
        return read_npz(path)
    if kind == "peft":
        return read_peft(path)
    if kind == "mlx":
        return read_mlx(path.parent if path.is_file() else path)
    if (path / "adapters" / MLX_WEIGHTS).exists():
        return read_mlx(path / "adapters")
    return read_npz(path / "adapters.npz")
