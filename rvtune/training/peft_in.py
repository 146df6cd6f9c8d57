"""Starting a run from an existing adapter (``rvtune run --adapter-init PATH``).

PATH may be a run directory (its best adapter, else its last), ``adapters.npz``, an mlx-lm
adapter directory or a Hugging Face PEFT directory: the readers of
:mod:`rvtune.export.adapter` bring every kind to mlx-lm's names and layout (PEFT's
``lora_A``/``lora_B`` transposed, ``lora_alpha / r`` as the scale). Here the tensors are
checked against the LoRA layers this run built and copied in.
"""

from pathlib import Path

from rvtune.core.errors import DataError


def read_init_adapter(path):
    """The :class:`~rvtune.export.adapter.LoraAdapter` at ``path`` (any kind rvtune reads)."""
    from rvtune.export.adapter import adapter_kind, read_adapter
    from rvtune.export.loading import read_run

    path = Path(path).expanduser()
    if adapter_kind(path) == "run" and (path / "config.yaml").is_file():
        path = read_run(path).adapter_path
    return read_adapter(path)


def init_from_adapter(model, path, config, log) -> None:
    """Copy the adapter at ``path`` into ``model``'s LoRA layers (built for ``config``).

    Every tensor must name a LoRA layer of this run with the same shape; a layer the
    adapter lacks keeps its fresh start. When the adapter's scale differs from this run's
    ``alpha / rank``, ``lora_b`` is rescaled so that the model starts from exactly the
    adapter's function.
    """
    import mlx.core as mx
    from mlx.utils import tree_flatten

    adapter = read_init_adapter(path)
    ours = dict(tree_flatten(model.trainable_parameters()))
    factor = adapter.scale / config.scale
    loaded = []
    for name, value in sorted(adapter.weights.items()):
        if name not in ours:
            raise DataError(f"--adapter-init {path}: tensor '{name}' names a layer this run "
                            "does not adapt; give --target-modules and --num-layers that "
                            "cover the adapter's layers")
        want = tuple(ours[name].shape)
        if tuple(value.shape) != want:
            raise DataError(f"--adapter-init {path}: tensor '{name}' has shape "
                            f"{tuple(value.shape)} but this run's LoRA needs {want} "
                            f"(--rank {config.rank}); train with the adapter's rank "
                            f"({adapter.rank}) and the same base model")
        if name.endswith("lora_b") and factor != 1.0:
            value = value * factor
        loaded.append((name, mx.array(value).astype(ours[name].dtype)))
    model.load_weights(loaded, strict=False)
    mx.eval(model.trainable_parameters())
    fresh = len(ours) - len(loaded)
    note = f"; {fresh // 2} LoRA layers it lacks start fresh" if fresh else ""
    scaled = (f"; lora_b scaled by {factor:g} (its scale {adapter.scale:g}, this run's "
              f"{config.scale:g})" if factor != 1.0 else "")
    log(f"Starting from adapter {adapter.source}: {len(loaded) // 2} LoRA layers"
        f"{note}{scaled}")


def check_peft_dir(path, model: str | None = None, log=print) -> str:
    """Check that ``path`` is a PEFT LoRA directory whose tensors fit its base model
    (``model``, else the one its config names, when that is on this machine); returns
    the path. A tensor that does not fit is one :class:`DataError` naming it and both
    shapes."""
    from rvtune.core.errors import UsageError
    from rvtune.export.adapter import adapter_kind, read_peft

    path = Path(path).expanduser()
    if adapter_kind(path) != "peft":
        raise UsageError(f"--from-peft {path}: not a PEFT adapter directory (no "
                         "adapter_model.safetensors); give the directory that "
                         "save_pretrained() wrote")
    adapter = read_peft(path)
    base = model or adapter.model
    shapes = _linear_shapes(base) if base else None
    if shapes is None:
        log(f"note: base model {base or '(not named)'} is not on this machine; the tensors "
            "are not checked against it (pass --model PATH to check)")
        return str(path)
    for name, value in sorted(adapter.weights.items()):
        module = name.rsplit(".", 1)[0]
        if module not in shapes:
            raise DataError(f"{path}: tensor '{name}' names no linear layer of {base}; the "
                            "adapter was trained for another model, pass it with --model")
        out_dims, in_dims = shapes[module]
        want = (in_dims, adapter.rank) if name.endswith("lora_a") else (adapter.rank, out_dims)
        if tuple(value.shape) != want:
            raise DataError(f"{path}: tensor '{name}' has shape {tuple(value.shape)} (as "
                            f"mlx-lm stores it) but {base} needs {want} there; the adapter "
                            "was trained for another model, pass it with --model")
    return str(path)


def _linear_shapes(model: str) -> dict | None:
    """``{module path: (out, in)}`` of the base model's linear layers, read lazily (no
    weights are loaded); None when the model is not on this machine."""
    import mlx.nn as nn

    local = Path(model).expanduser()
    try:
        if local.exists():
            from rvtune.training.model import resolve_model_path

            path = resolve_model_path(model)
        else:  # a hub id: only from the cache, never a download for a check
            from huggingface_hub import snapshot_download

            path = Path(snapshot_download(model, local_files_only=True,
                                          allow_patterns=["*.json", "model*.safetensors"]))
    except Exception:
        return None
    from mlx_lm.utils import load_model

    built, _config = load_model(path, lazy=True)
    shapes = {}
    for name, module in built.named_modules():
        if isinstance(module, nn.QuantizedLinear):
            out_dims, packed = module.weight.shape
            shapes[name] = (out_dims, packed * 32 // module.bits)
        elif isinstance(module, nn.Linear):
            shapes[name] = tuple(module.weight.shape)
    return shapes
