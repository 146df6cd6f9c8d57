"""The whole of ``rvtune export``: pick the exporter, find the run and its adapter, check the
output, write it (atomically, one writer per output). ``rvtune export`` and ``rvtune.export``
both call :func:`export`."""

from dataclasses import dataclass
from pathlib import Path

#: Each option's kind (rvtune.core.options.convert_value), by its Python name.
KINDS = {"run": "path", "format": "str", "out": "path", "fuse": "bool", "adapter": "path",
         "from_peft": "path", "model": "str", "checkpoint": "str", "dequantize": "bool",
         "outtype": ("f16", "q8_0", "f32"), "modelfile": "bool", "max_delta_error": "float",
         "max_drift": "float", "overwrite": "bool"}


@dataclass
class ExportResult:
    """The format written and where."""

    format: str
    path: Path


def export(run=None, format=None, out=None, fuse=False, adapter=None, from_peft=None,
           model=None, checkpoint=None, dequantize=False, outtype=None, modelfile=False,
           max_delta_error=None, max_drift=None, overwrite=False, log=print) -> ExportResult:
    """Export an adapter as ``rvtune export`` does; the arguments are its options (``run``
    is ``--run``, ``format`` is ``--format``); ``log`` prints progress lines."""
    from rvtune.core.errors import UsageError
    from rvtune.core.jobs import ExportRequest
    from rvtune.core.plugins import registry

    run_dir, fmt = run, format
    if from_peft:
        from rvtune.training.peft_in import check_peft_dir

        if adapter or run_dir:
            raise UsageError("--from-peft DIR names the adapter; drop --adapter / --run")
        adapter = check_peft_dir(from_peft, model, log=log)
        fmt = fmt or "mlx"
    if fuse:
        if fmt not in (None, "fused"):
            raise UsageError(f"--fuse means --format fused; drop --format {fmt} or --fuse")
        fmt = "fused"
    if fmt is None:
        known = ", ".join(registry().names("exporter"))
        raise UsageError(f"--format is missing; choose one of: {known} (or --fuse)")
    exporter_cls = registry().get("exporter", fmt, option="--format")
    if dequantize and fmt != "fused":
        raise UsageError("--dequantize applies to --format fused only (gguf takes --outtype)")
    if modelfile and fmt not in ("gguf", "gguf-lora"):
        raise UsageError("--modelfile applies to --format gguf and gguf-lora only")
    if outtype and fmt not in ("gguf", "gguf-lora"):
        raise UsageError("--outtype applies to --format gguf and gguf-lora only")

    from .loading import find_run

    found = (find_run(run_dir, checkpoint) if (run_dir is not None or adapter is None)
             else None)
    if found is not None:
        found.adapter_path  # a missing step fails here, before anything is loaded
    opts = {"adapter": adapter, "model": model, "dequantize": dequantize, "outtype": outtype,
            "modelfile": modelfile, "max_delta_error": max_delta_error,
            "max_drift": max_drift, "log": log, "checkpoint": checkpoint}
    exporter = exporter_cls()
    if out is None:
        name = (exporter.default_out(opts) if hasattr(exporter, "default_out")
                else getattr(exporter_cls, "default_name", "")) or fmt
        root = found.path / "exports" if found is not None else Path("exports")
        out = root / name
    out = Path(out).expanduser()
    from rvtune.core.atomic import recover
    from rvtune.core.locks import hold

    with hold(out, "--out "):  # one writer per output; a kill's leftovers undone first
        recover(out)
        targets = (exporter.outputs(out, opts) if hasattr(exporter, "outputs")
                   else [out] + ([out.parent / "Modelfile"] if modelfile else []))
        for target in targets:
            if target.exists() and not overwrite:
                raise UsageError(f"--out {target}: already exists; pass --overwrite to "
                                 "replace it, or choose another --out")
        request = ExportRequest(run_dir=found.path if found is not None else None, out=out,
                                options=opts)
        written = exporter.export(request)
    return ExportResult(fmt, Path(written))
