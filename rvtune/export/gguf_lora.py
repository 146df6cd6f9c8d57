"""``gguf-lora``: the adapter alone as a LoRA GGUF (``general.type = adapter``), which
llama.cpp applies with ``--lora`` and Ollama with ``ADAPTER``, so the base stays unfused.

Each LoRA pair goes under the base tensor's llama.cpp name plus ``.lora_a`` / ``.lora_b``:
``lora_a`` is stored transposed, ``(rank, in)``, and ``lora_b`` as ``(out, rank)`` with the
q/k rows reordered like the base's own q/k weights. ``adapter.lora.alpha = scale * rank``,
so llama.cpp's ``alpha / rank`` is the adapter's scale. The tensors are float32 whatever
``--outtype`` says (it sets the base's type): they are small, and llama.cpp's CPU backend
(b10605) computes NaN logits from a float16 ``lora_b`` of rank 8 (measured).

The base has to be a GGUF too. When the run's base is a ``.gguf`` file (``--model FILE.gguf``,
the smollm2 preset) that file is the base; otherwise the base model is written beside the
adapter as ``base-<outtype>.gguf``. With ``--modelfile`` an Ollama Modelfile names both.
"""

from pathlib import Path

from rvtune.core.errors import UsageError

from .base import Exporter


def lora_tensors(adapter, config: dict) -> dict:
    """``{llama.cpp name: float32 array}`` of the adapter, laid out for llama.cpp."""
    import numpy as np

    from .gguf_write import for_llama_cpp, gguf_name

    out = {}
    for module in adapter.modules:
        base = gguf_name(module + ".weight")
        if base is None:
            raise UsageError(f"{adapter.source}: LoRA on '{module}' has no llama.cpp "
                             "counterpart; export --format gguf (fused) instead")
        a = adapter.weights[f"{module}.lora_a"]
        b = adapter.weights[f"{module}.lora_b"]
        out[base + ".lora_a"] = np.ascontiguousarray(a.T, dtype=np.float32)
        out[base + ".lora_b"] = np.ascontiguousarray(
            for_llama_cpp(module + ".weight", b.T, config), dtype=np.float32)
    return out


def write_lora_gguf(adapter, config: dict, target: Path, name: str) -> Path:
    """Write ``adapter`` (a :class:`~rvtune.export.adapter.LoraAdapter`) for the base
    described by ``config`` as a LoRA GGUF at ``target``, atomically."""
    import gguf

    from rvtune.core.atomic import atomic_path

    tensors = lora_tensors(adapter, config)
    with atomic_path(target) as tmp:
        writer = gguf.GGUFWriter(tmp, "llama")
        writer.add_name(name)
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(adapter.scale * adapter.rank))
        for tensor_name, value in tensors.items():
            writer.add_tensor(tensor_name, value)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
    return Path(target)


class GgufLoraExporter(Exporter):
    """LoRA adapter GGUF for llama.cpp --lora / Ollama ADAPTER, with the base as GGUF."""

    name = "gguf-lora"
    default_name = "adapter.gguf"

    def base_gguf(self, out: Path, opts: dict, model: str | None) -> Path:
        """The base GGUF the adapter goes on: the run's own .gguf, else one written beside."""
        from rvtune.training.from_gguf import is_gguf

        if model and is_gguf(model):
            return Path(model).expanduser().resolve()
        return out.parent / f"base-{opts.get('outtype') or 'f16'}.gguf"

    def outputs(self, out: Path, opts: dict) -> list:
        model = opts.get("model")
        extra = [] if model and model.lower().endswith(".gguf") else [
            self.base_gguf(out, opts, None)]
        return [out] + extra + ([out.parent / "Modelfile"] if opts.get("modelfile") else [])

    def write(self, request, out):
        import json

        from rvtune.inference import prompt_format
        from rvtune.training.from_gguf import is_gguf
        from rvtune.training.model import resolve_model_path

        from .base import log_of, options, read_request_adapter
        from .gguf import outtype_of, write_modelfile
        from .gguf_write import check_architecture, write_model_gguf

        log = log_of(request)
        opts = options(request)
        adapter, run = read_request_adapter(request)
        outtype = outtype_of(request)
        if out.suffix != ".gguf":
            raise UsageError(f"--out {out}: a GGUF file name must end in .gguf")
        if not adapter.model:
            raise UsageError(f"{adapter.source}: does not say which base model it was trained "
                             "on; pass --model PATH_OR_ID")
        model_dir = resolve_model_path(adapter.model)
        config = json.loads((model_dir / "config.json").read_text())
        check_architecture(config, adapter.model, "gguf-lora")
        name = run.path.name if run is not None else Path(adapter.model).name
        base = self.base_gguf(out, opts, adapter.model)
        fmt = prompt_format(run, adapter)
        if not is_gguf(adapter.model):
            if config.get("quantization"):
                raise UsageError(f"--format gguf-lora: the base '{adapter.model}' is an MLX "
                                 "quantized model, which rvtune cannot write as GGUF; pass "
                                 "--model with its 16-bit original or a .gguf file")
            log(f"writing the base model as {base} (llama.cpp applies the adapter to it)")
            write_model_gguf(model_dir, base, Path(adapter.model).name, outtype,
                             fmt.formatter, fmt.stop_strings)
        write_lora_gguf(adapter, config, out, name)
        if opts.get("modelfile"):
            shown = base.name if base.parent == out.parent else str(base)
            write_modelfile(out.parent / "Modelfile", shown, fmt, adapter_name=out.name)
