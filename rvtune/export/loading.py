"""Shared loading for exporters and inference: find a run, load its base model the way the
trainer did, and put an adapter of any kind on it with checked names and shapes."""

import json
from dataclasses import dataclass, field
from pathlib import Path

from rvtune.core.errors import DataError, UsageError

from .adapter import LoraAdapter, adapter_kind, read_adapter

RUNS_DIR = "runs"


@dataclass
class RunInfo:
    """What a run directory says about how its adapter was trained and prompted."""

    path: Path
    config: dict = field(default_factory=dict)
    manifest: dict = field(default_factory=dict)
    #: Which adapter of the run: ``best`` (default; the last one when there is no best),
    #: ``last``, or a step number with a checkpoint.
    checkpoint: str | None = None

    @property
    def model(self) -> str | None:
        return self.config.get("model")

    @property
    def bits(self) -> int:
        return int(self.config.get("bits", 0) or 0)

    @property
    def group_size(self) -> int:
        return int(self.config.get("group_size", 64) or 64)

    @property
    def adapter_path(self) -> Path:
        """The run's adapter per :attr:`checkpoint`: ``best-adapters/`` (the lowest
        validation loss) when the run kept one, else the last: ``adapters/`` (mlx-lm
        layout) or ``adapters.npz``; or checkpoint STEP's."""
        from rvtune.training.best import BEST_DIR

        which = str(self.checkpoint or "best")
        if which == "best" and (self.path / BEST_DIR / "adapters.safetensors").exists():
            return self.path / BEST_DIR
        if which not in ("best", "last"):
            return self._step_path(which)
        if (self.path / "adapters" / "adapters.safetensors").exists():
            return self.path / "adapters"
        if (self.path / "adapters.npz").exists():
            return self.path / "adapters.npz"
        raise UsageError(f"run {self.path}: has no adapter yet (adapters/ or adapters.npz); "
                         "finish or resume training first (rvtune run --resume)")


    def _step_path(self, which: str) -> Path:
        from rvtune.training.checkpoint import checkpoint_dir, list_checkpoints

        if not which.isdigit():
            raise UsageError(f"--checkpoint {which}: use best, last or a step number")
        path = checkpoint_dir(self.path / "checkpoints", int(which))
        if not (path / "adapter_config.json").exists():
            steps = [str(int(p.name.split("-")[1])) for p in
                     list_checkpoints(self.path / "checkpoints")
                     if (p / "adapter_config.json").exists()]
            raise UsageError(f"--checkpoint {which}: run {self.path} has no checkpoint of "
                             f"step {which}; it has: {', '.join(steps) or 'none'} (or use "
                             "best / last)")
        return path


def is_run_dir(path: Path) -> bool:
    """A directory written by ``rvtune run``: it holds ``config.yaml``."""
    return path.is_dir() and (path / "config.yaml").is_file()


def _read_yaml(path: Path) -> dict:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the run's settings ({type(exc).__name__}); "
                        "the run directory is damaged") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a mapping of run settings")
    # Trainer settings may sit at the top level or in a section.
    flat = {}
    for section in ("run", "train"):
        if isinstance(data.get(section), dict):
            flat.update({str(k).replace("-", "_"): v for k, v in data[section].items()})
    flat.update({str(k).replace("-", "_"): v for k, v in data.items()
                 if not isinstance(v, dict)})
    return flat


def _check_settings(path: Path, config: dict) -> None:
    """The settings loading relies on have the right types, or one line names the key."""
    for key, kinds, what in (("model", (str,), "a name or path"), ("bits", (int,), "a number"),
                             ("group_size", (int,), "a number"),
                             ("formatter", (str, dict), "a formatter name"),
                             ("system", (str,), "text"),
                             ("instruction_template", (str,), "text")):
        value = config.get(key)
        if value is not None and (not isinstance(value, kinds) or isinstance(value, bool)):
            raise DataError(f"{path}: '{key.replace('_', '-')}' is {value!r}, not {what}; "
                            "the run directory is damaged (fix the key or train again)")


def read_run(path, checkpoint: str | None = None) -> RunInfo:
    """Read a run directory's ``config.yaml`` and ``data/manifest.json``; ``checkpoint``
    picks its adapter (see :attr:`RunInfo.checkpoint`)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise UsageError(f"--run {path}: no such directory; give a directory written by "
                         "`rvtune run` (runs/<name>)")
    if not is_run_dir(path):
        raise UsageError(f"--run {path}: not a run directory (no config.yaml); give a "
                         "directory written by `rvtune run` (runs/<name>)")
    config = _read_yaml(path / "config.yaml")
    _check_settings(path / "config.yaml", config)
    manifest = {}
    manifest_path = path / "data" / "manifest.json"
    if manifest_path.exists():
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            raise DataError(f"{manifest_path}: not valid JSON; the run's data directory is "
                            "damaged, prepare it again") from None
    return RunInfo(path.resolve(), config, manifest,
                   checkpoint=None if checkpoint is None else str(checkpoint))


def find_run(path=None, checkpoint: str | None = None) -> RunInfo:
    """The run at ``path``; else the current directory if it is a run; else the newest run
    under ``./runs`` (``runs/latest`` when it exists)."""
    if path is not None:
        return read_run(path, checkpoint)
    here = Path.cwd()
    if is_run_dir(here):
        return read_run(here, checkpoint)
    runs = here / RUNS_DIR
    if is_run_dir(runs / "latest"):
        return read_run(runs / "latest", checkpoint)
    candidates = [p for p in runs.iterdir() if is_run_dir(p)] if runs.is_dir() else []
    if not candidates:
        raise UsageError("no run found here (no config.yaml in the current directory and "
                         "no runs/<name>/); pass --run RUN_DIR, or train one with `rvtune run`")
    return read_run(max(candidates, key=lambda p: (p / "config.yaml").stat().st_mtime),
                    checkpoint)


def run_of_adapter(path) -> RunInfo | None:
    """The run an adapter path belongs to (the run itself, its adapters/, .npz, best
    adapters or a checkpoint)."""
    path = Path(path).expanduser().resolve()
    for candidate in (path, path.parent, path.parent.parent, path.parent.parent.parent):
        if is_run_dir(candidate):
            return read_run(candidate)
    return None


@dataclass
class Loaded:
    """A loaded model with its tokenizer and everything known about how it was made."""

    model: object
    tokenizer: object
    config: dict
    model_path: Path
    adapter: LoraAdapter | None = None
    run: RunInfo | None = None
    bits: int = 0
    group_size: int | None = None


def load_base(model: str, bits: int = 0, group_size: int = 64) -> Loaded:
    """The base model as the trainer loads it (quantized to ``bits`` unless stored so)."""
    from rvtune.training.model import load_base as trainer_load_base
    from rvtune.training.model import resolve_model_path

    path = resolve_model_path(model)
    mlx_model, tokenizer, config, quant = trainer_load_base(path, bits, group_size, model)
    return Loaded(mlx_model, tokenizer, config, path, bits=quant.bits,
                  group_size=quant.group_size)


def base_settings(adapter: LoraAdapter | None, run: RunInfo | None,
                  model: str | None) -> tuple[str, int, int]:
    """Which base model (and quantization) an adapter goes on: explicit ``model`` first,
    then the run's settings, then what the adapter file records."""
    if run is not None:
        bits, group_size = run.bits, run.group_size
    else:
        bits, group_size = adapter_quantization(adapter) if adapter else (0, 64)
    chosen = model or (run.model if run else None) or (adapter.model if adapter else None)
    if not chosen:
        where = adapter.source if adapter else "the adapter"
        raise UsageError(f"{where}: does not say which base model it was trained on; pass "
                         "--model PATH_OR_ID")
    return chosen, bits, group_size


def adapter_quantization(adapter: LoraAdapter) -> tuple[int, int]:
    """``(bits, group_size)`` the trainer quantized the base with on load (0: not)."""
    quant = (adapter.extra.get("rvtune") or {}).get("quantize_on_load") or {}
    bits = quant.get("bits", adapter.extra.get("bits", 0)) or 0
    group_size = quant.get("group_size", adapter.extra.get("group_size", 64)) or 64
    return int(bits), int(group_size)


def load_with_adapter(model: str | None = None, adapter_path=None, run=None,
                      bits: int | None = None, checkpoint: str | None = None) -> Loaded:
    """Load a base model and put an adapter of any kind on it (LoRA layers, unfused).

    ``adapter_path`` may be ``adapters.npz``, an MLX or PEFT adapter directory, or a run
    directory; ``run`` (a path or :class:`RunInfo`) gives the adapter and the base model's
    settings; an explicit ``model`` wins over both. ``bits`` overrides the quantization.
    ``checkpoint`` picks a run's adapter: best (default), last or a step number.
    """
    if run is not None and not isinstance(run, RunInfo):
        run = read_run(run, checkpoint)
    elif run is not None and checkpoint is not None:
        run.checkpoint = str(checkpoint)
    if adapter_path is None and run is not None:
        adapter_path = run.adapter_path
    adapter = None
    if adapter_path is not None:
        if run is None:
            run = run_of_adapter(adapter_path)
            if run is not None and checkpoint is not None:
                run.checkpoint = str(checkpoint)
        if adapter_kind(adapter_path) == "run" and run is not None:
            adapter_path = run.adapter_path
        adapter = read_adapter(adapter_path)
    chosen, run_bits, group_size = base_settings(adapter, run, model)
    loaded = load_base(chosen, run_bits if bits is None else bits, group_size)
    loaded.run = run
    if adapter is not None:
        apply_adapter(loaded.model, adapter, model_name=chosen)
        loaded.adapter = adapter
    return loaded


def apply_adapter(model, adapter: LoraAdapter, model_name: str = "the model") -> None:
    """Replace each adapted linear layer of ``model`` by mlx-lm's ``LoRALinear`` holding the
    adapter's tensors. Every name and shape is checked first; nothing changes on error."""
    import mlx.core as mx
    import mlx.nn as nn
    from mlx.utils import tree_unflatten
    from mlx_lm.tuner.lora import LoRALinear

    modules = dict(model.named_modules())
    replacements = []
    for path in adapter.modules:
        layer = modules.get(path)
        if isinstance(layer, LoRALinear):
            raise UsageError(f"{path}: the model already carries a LoRA adapter; load the "
                             "base model again before applying another")
        if layer is None:
            raise DataError(f"{adapter.source}: tensor '{path}.lora_a' names no module of "
                            f"{model_name}; the adapter was trained for another model, pass "
                            "the right base with --model")
        if not isinstance(layer, (nn.Linear, nn.QuantizedLinear)):
            raise DataError(f"{adapter.source}: '{path}' is a {type(layer).__name__} in "
                            f"{model_name}, not a linear layer LoRA can adapt")
        out_dims, in_dims = layer.weight.shape
        if isinstance(layer, nn.QuantizedLinear):
            in_dims = in_dims * 32 // layer.bits
        a, b = adapter.weights[f"{path}.lora_a"], adapter.weights[f"{path}.lora_b"]
        want_a, want_b = (in_dims, adapter.rank), (adapter.rank, out_dims)
        for name, got, want in ((f"{path}.lora_a", a.shape, want_a),
                                (f"{path}.lora_b", b.shape, want_b)):
            if tuple(got) != want:
                raise DataError(f"{adapter.source}: tensor '{name}' has shape {tuple(got)} "
                                f"but {model_name} needs {want} there; the adapter was "
                                "trained for another model, pass the right base with --model")
        lora = LoRALinear.from_base(layer, r=adapter.rank, dropout=0.0, scale=adapter.scale)
        lora.lora_a = mx.array(a)
        lora.lora_b = mx.array(b)
        replacements.append((path, lora))
    model.update_modules(tree_unflatten(replacements))
    model.eval()


def adapter_from_model(model, settings: dict | None = None) -> LoraAdapter:
    """The LoRA tensors of a model carrying ``LoRALinear`` layers, as a :class:`LoraAdapter`
    (how a freshly trained in-memory model becomes an exportable adapter)."""
    from mlx.utils import tree_flatten

    from .adapter import _keys_from_weights, _to_numpy

    weights = {name: _to_numpy(value) for name, value in tree_flatten(model.parameters())
               if name.endswith((".lora_a", ".lora_b"))}
    if not weights:
        raise UsageError("the model carries no LoRA layers; nothing to export")
    settings = dict(settings or {})
    first = next(m for _, m in model.named_modules() if "lora_a" in m)
    adapter = LoraAdapter(
        weights=weights,
        rank=int(settings.pop("rank", first.lora_a.shape[1])),
        scale=float(settings.pop("scale", first.scale)),
        dropout=float(settings.pop("dropout", 0.0)),
        keys=tuple(settings.pop("keys", None) or _keys_from_weights(weights)),
        num_layers=int(settings.pop("num_layers", -1)),
        model=settings.pop("model", None),
        extra=settings,
        source="in-memory model",
    )
    adapter.check()
    return adapter


def total_layers(config: dict) -> int | None:
    """The number of transformer blocks a model config declares."""
    value = config.get("num_hidden_layers") or config.get("text_config", {}).get(
        "num_hidden_layers")
    return int(value) if value else None
